from django.contrib import admin

from catalog.models import Allocation, Egg, Game, Node, Plan, Region, RegionNodeMap


@admin.register(Egg)
class EggAdmin(admin.ModelAdmin):
    list_display = ["name", "ptero_egg_id", "ptero_nest_id", "docker_image", "synced_at"]
    readonly_fields = ["synced_at"]


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active", "sort_order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "slug",
        "egg",
        "stripe_price_id",
        "price_cents",
        "memory",
        "disk",
        "active",
    ]
    list_filter = ["game", "active"]
    search_fields = ["name", "slug", "stripe_price_id"]


class RegionNodeInline(admin.TabularInline):
    model = RegionNodeMap
    extra = 1


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "ptero_location_id", "active"]
    inlines = [RegionNodeInline]


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "ptero_node_id",
        "memory",
        "allocated_memory",
        "disk",
        "allocated_disk",
        "synced_at",
    ]
    readonly_fields = ["synced_at"]


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["address", "node", "ptero_allocation_id", "assigned"]
    list_filter = ["node", "assigned"]
