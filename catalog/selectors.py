"""Reads of the catalogue: what is for sale and where it fits."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from catalog.models import Allocation, Game, Node, Plan, Region

# Orders that hold capacity on a node but that the panel's counters (as of the last sync) may
# not include yet: everything not yet on the panel, and what was created since the sync.
_HOLDING_STATUSES = ("pending", "paid", "provisioning", "error")


def plan_get_active(*, slug: str) -> Plan | None:
    return (
        Plan.objects.select_related("game", "egg")
        .filter(slug=slug, active=True, game__active=True)
        .first()
    )


def region_get_active(*, slug: str) -> Region | None:
    return Region.objects.filter(slug=slug, active=True).first()


def games_for_sale() -> QuerySet[Game]:
    return Game.objects.filter(active=True, plans__active=True).distinct()


def plans_for_sale() -> QuerySet[Plan]:
    return Plan.objects.select_related("game", "egg").filter(active=True, game__active=True)


def node_committed(*, node: Node) -> tuple[int, int]:
    """Memory and disk (MiB) committed on a node: the panel's sums at the last sync plus our
    orders that hold an allocation there and are not in those sums yet."""
    holding = Q(order__status__in=_HOLDING_STATUSES)
    if node.synced_at is not None:
        holding |= Q(order__ptero_server_id__isnull=False, order__provisioned_at__gt=node.synced_at)
    rows = Allocation.objects.filter(node=node, order__isnull=False).filter(holding)
    memory = disk = 0
    for plan_memory, plan_disk in rows.values_list("order__plan__memory", "order__plan__disk"):
        memory += plan_memory
        disk += plan_disk
    return node.allocated_memory + memory, node.allocated_disk + disk


def node_fits(*, node: Node, plan: Plan) -> bool:
    """The panel's deploy rule: committed + plan <= size x (1 + overallocate/100), memory and disk.
    Unlimited (0) plans add nothing, as in the panel."""
    memory, disk = node_committed(node=node)
    return memory + plan.memory <= node.memory_ceiling and disk + plan.disk <= node.disk_ceiling


def free_allocations(*, node: Node, plan: Plan | None = None) -> QuerySet[Allocation]:
    """Ports free in the panel (as synced), not reserved by any order, and (given a plan) in
    the plan's port range."""
    rows = Allocation.objects.filter(node=node, assigned=False, order__isnull=True)
    if plan is not None and plan.port_bounds():
        in_range = Q()
        for low, high in plan.port_bounds():
            in_range |= Q(port__gte=low, port__lte=high)
        rows = rows.filter(in_range)
    return rows


def region_nodes(*, region: Region) -> QuerySet[Node]:
    return region.nodes.filter(maintenance_mode=False).order_by("ptero_node_id")


def region_stock(*, region: Region, plan: Plan) -> int:
    """How many more servers of this plan the region can place right now (ports that are free
    on nodes with room for the plan). 0 = sold out."""
    return sum(
        free_allocations(node=node, plan=plan).count()
        for node in region_nodes(region=region)
        if node_fits(node=node, plan=plan)
    )
