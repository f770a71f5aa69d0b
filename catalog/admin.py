from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from catalog.models import Allocation, Egg, Game, Node, Plan, Region, RegionNodeMap


def _sync_from_panel(request: HttpRequest) -> None:
    """Thin: one service call, the report or the panel's error as a message."""
    from catalog.sync import catalog_sync
    from panel.client import PanelClient
    from panel.errors import PanelError

    try:
        with PanelClient.from_settings() as client:
            report = catalog_sync(client=client)
    except PanelError as exc:
        messages.error(request, f"Sync from panel failed: {exc}")
    else:
        messages.success(request, f"Synced from the panel: {report}.")


class PanelSyncMixin(admin.ModelAdmin):
    """Adds a "Sync from panel" button to the change list (POST, staff with change rights)."""

    change_list_template = "admin/catalog/sync_change_list.html"

    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        view = self.admin_site.admin_view(require_POST(self.sync_view))
        name = f"{opts.app_label}_{opts.model_name}_sync"
        return [path("sync/", view, name=name), *super().get_urls()]

    def sync_view(self, request: HttpRequest) -> HttpResponseRedirect:
        opts = self.model._meta
        if not self.has_change_permission(request):
            messages.error(request, "You may not change the catalogue.")
        else:
            _sync_from_panel(request)
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    @admin.action(description="Sync the catalogue from the panel")
    def sync_from_panel(self, request: HttpRequest, queryset: Any) -> None:
        _sync_from_panel(request)

    actions = ["sync_from_panel"]


@admin.register(Egg)
class EggAdmin(PanelSyncMixin):
    list_display = ["name", "ptero_egg_id", "ptero_nest_id", "docker_image", "synced_at"]
    search_fields = ["name"]
    readonly_fields = ["ptero_egg_id", "ptero_nest_id", "startup", "variables", "synced_at"]


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
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
    list_editable = ["active"]
    search_fields = ["name", "slug", "stripe_price_id"]
    list_select_related = ["game", "egg"]
    fieldsets = (
        (None, {"fields": ("game", "name", "slug", "active", "sort_order")}),
        (
            "Price",
            {
                "fields": ("stripe_price_id", "price_cents", "currency"),
                "description": "Stripe charges the price id; price_cents is what the shop shows.",
            },
        ),
        (
            "Egg and variables",
            {
                "fields": ("egg", "environment", "customer_variables"),
                "description": (
                    'environment: fixed values, e.g. {"RCON_PASS": "{random}"}. '
                    'customer_variables: env names the customer picks, e.g. ["MINECRAFT_VERSION"]; '
                    "only variables the egg marks user-editable, checked with the egg's rules "
                    "before payment."
                ),
            },
        ),
        (
            "Limits (panel units: MiB, % of a core)",
            {
                "fields": (
                    ("memory", "swap", "disk"),
                    ("cpu", "threads", "io"),
                    ("databases", "allocations", "backups"),
                    ("oom_disabled", "start_on_completion"),
                    "port_range",
                )
            },
        ),
    )


class RegionNodeInline(admin.TabularInline):
    model = RegionNodeMap
    extra = 1
    autocomplete_fields = ["node"]


@admin.register(Region)
class RegionAdmin(PanelSyncMixin):
    list_display = ["name", "slug", "ptero_location_id", "node_names", "active"]
    list_editable = ["active"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RegionNodeInline]

    @admin.display(description="nodes")
    def node_names(self, obj: Region) -> str:
        return ", ".join(n.name for n in obj.nodes.all()) or "— none (not sellable)"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("nodes")


@admin.register(Node)
class NodeAdmin(PanelSyncMixin):
    list_display = [
        "name",
        "ptero_node_id",
        "ptero_location_id",
        "maintenance_mode",
        "memory",
        "allocated_memory",
        "disk",
        "allocated_disk",
        "synced_at",
    ]
    search_fields = ["name", "fqdn"]
    readonly_fields = ["synced_at"]


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["address", "node", "ptero_allocation_id", "assigned"]
    list_filter = ["node", "assigned"]
    search_fields = ["ip", "alias", "port"]
