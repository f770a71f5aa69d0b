from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin, TabularInline

from catalog.models import Allocation, Egg, Game, Node, Plan, Region, RegionNodeMap, WaitlistEntry
from core.confirm import ActionPermissionMixin


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


class PanelSyncMixin(ActionPermissionMixin, ModelAdmin):
    """Adds a "Sync from panel" button to the change list (POST, staff with change rights:
    view-only staff get 403 and no panel call)."""

    change_list_template = "admin/catalog/sync_change_list.html"

    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        view = self.admin_site.admin_view(require_POST(self.sync_view))
        name = f"{opts.app_label}_{opts.model_name}_sync"
        return [path("sync/", view, name=name), *super().get_urls()]

    def sync_view(self, request: HttpRequest) -> HttpResponseRedirect:
        opts = self.model._meta
        if not self.has_change_permission(request):
            raise PermissionDenied
        _sync_from_panel(request)
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {**(extra_context or {}), "can_sync": self.has_change_permission(request)}
        return super().changelist_view(request, extra)

    @admin.action(description="Sync the catalogue from the panel", permissions=["change"])
    def sync_from_panel(self, request: HttpRequest, queryset: Any) -> None:
        _sync_from_panel(request)

    actions = ["sync_from_panel"]


@admin.register(Egg)
class EggAdmin(PanelSyncMixin):
    list_display = ["name", "ptero_egg_id", "ptero_nest_id", "docker_image", "synced_at"]
    search_fields = ["name"]
    readonly_fields = ["ptero_egg_id", "ptero_nest_id", "startup", "variables", "synced_at"]


@admin.register(Game)
class GameAdmin(ModelAdmin):
    list_display = ["name", "slug", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    prepopulated_fields = {"slug": ["name"]}


class PlanAdmin(ModelAdmin):
    """Registered by console/admin.py, which adds the Stripe price creation on save."""

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
    readonly_fields = ["stripe_price_id", "egg_port_variables"]
    fieldsets = (
        (None, {"fields": ("game", "name", "slug", "active", "sort_order")}),
        (
            "Price",
            {
                "fields": ("price_cents", "currency", "recurring_interval", "stripe_price_id"),
                "description": (
                    "Saving a new price, currency or billing (monthly / yearly / one-off) "
                    "creates the Stripe Product and Price through the API and stores its id: "
                    "the id is never typed by hand."
                ),
            },
        ),
        (
            "Egg and variables",
            {
                "fields": ("egg", "environment", "customer_variables", "variable_bounds"),
                "description": (
                    'environment: fixed values, e.g. {"RCON_PASS": "{random}"}. '
                    'customer_variables: env names the customer picks, e.g. ["MINECRAFT_VERSION"]; '
                    "only variables the egg marks user-editable, checked with the egg's rules "
                    "before payment. variable_bounds: tighter min/max for numeric ones, e.g. "
                    '{"MAX_PLAYERS": {"min": 1, "max": 20}} for a 20-slot plan.'
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
                )
            },
        ),
        (
            "Ports",
            {
                "fields": ("port_range", "port_template", "egg_port_variables"),
                "description": (
                    "port_range: the ports this game's servers take, e.g. 28015-28099. "
                    "port_template: each port variable of the egg mapped to "
                    '"primary" (the game port itself), "+k" (the game port + k, same IP) or '
                    '"any" (any free port, same IP), e.g. {"RCON_PORT": "+1", "APP_PORT": '
                    '"any"}; "#name": "+1" reserves a port with no variable. Every port of a '
                    "server is reserved at checkout. docs/ports-and-placement.md."
                ),
            },
        ),
    )

    @admin.display(description="port variables of the egg")
    def egg_port_variables(self, obj: Plan | None) -> str:
        """What the template can map: the egg's variables that look like ports, and the stock
        template of the egg when there is one (catalog/demo.py PORT_TEMPLATES)."""
        import json

        from catalog.demo import PORT_TEMPLATES
        from catalog.ports import port_like_variables

        if obj is None or not obj.egg_id:
            return "Save the plan with its egg to see them."
        egg = obj.egg
        names = port_like_variables(variables=egg.variables, startup=egg.startup)
        text = ", ".join(names) if names else "none (one port a server: SERVER_PORT)"
        stock = PORT_TEMPLATES.get(egg.ptero_egg_id)
        if stock:
            text += f". Suggested template: {json.dumps(stock)}"
        return text


class RegionNodeInline(TabularInline):
    model = RegionNodeMap
    extra = 1
    autocomplete_fields = ["node"]


class WaitlistInline(TabularInline):
    """Who waits for what in this region, first in line first (read-only: the customers'
    own requests)."""

    model = WaitlistEntry
    extra = 0
    can_delete = True
    fields = ["user", "plan", "subscribed_at", "round", "notified_at", "notified_event"]
    readonly_fields = fields
    verbose_name_plural = "waitlist (first in line first)"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("user", "plan__game")


@admin.register(Region)
class RegionAdmin(PanelSyncMixin):
    list_display = [
        "name",
        "slug",
        "ptero_location_id",
        "placement_policy",
        "node_names",
        "waiting",
        "active",
    ]
    list_editable = ["active", "placement_policy"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RegionNodeInline, WaitlistInline]

    @admin.display(description="waiting")
    def waiting(self, obj: Region) -> int:
        return obj.waitlist_entries.filter(notified_at__isnull=True).count()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # A node mapped to the region is a capacity event for its waitlist.
        from catalog.waitlist import waitlist_capacity_freed
        from core import clock

        waitlist_capacity_freed(
            region_ids=[form.instance.pk],
            event=f"region-{form.instance.pk}-edited-{clock.now():%Y%m%dT%H%M%S%f}",
        )

    @admin.display(description="nodes")
    def node_names(self, obj: Region) -> str:
        return ", ".join(n.name for n in obj.nodes.all()) or "— none (not sellable)"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("nodes")


@admin.register(Node)
class NodeAdmin(PanelSyncMixin):
    """Panel facts are synced; `drained` and `weight` are the operator's placement settings
    (docs/ports-and-placement.md). Lifting a drain tells the regions' waitlists."""

    list_display = [
        "name",
        "ptero_node_id",
        "ptero_location_id",
        "maintenance_mode",
        "drained",
        "weight",
        "memory",
        "allocated_memory",
        "disk",
        "allocated_disk",
        "synced_at",
    ]
    list_editable = ["drained", "weight"]
    search_fields = ["name", "fqdn"]
    readonly_fields = ["synced_at"]

    def save_model(self, request: HttpRequest, obj: Node, form: Any, change: bool) -> None:
        """The drain goes through its service (lifting it is a waitlist event)."""
        from catalog.placement import node_drain_set

        drained = obj.drained
        if change:
            obj.drained = Node.objects.values_list("drained", flat=True).get(pk=obj.pk)
        super().save_model(request, obj, form, change)
        if obj.drained != drained:
            node_drain_set(node_id=obj.pk, drained=drained)
            obj.drained = drained


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ModelAdmin):
    """Every waitlist, filterable by region and plan (the region's page shows its own)."""

    list_display = [
        "user",
        "plan",
        "region",
        "subscribed_at",
        "round",
        "notified_at",
        "notified_event",
    ]
    list_filter = ["region", "plan", ("notified_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email"]
    list_select_related = ["user", "plan__game", "region"]
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Allocation)
class AllocationAdmin(ModelAdmin):
    list_display = ["address", "node", "ptero_allocation_id", "assigned"]
    list_filter = ["node", "assigned"]
    search_fields = ["ip", "alias", "port"]
