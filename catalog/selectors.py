"""Reads of the catalogue: what is for sale and where it fits."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from catalog.models import Allocation, Game, Node, Plan, Region
from catalog.ports import Free, sets_count

# Orders that hold capacity on a node but that the panel's counters (as of the last sync) may
# not include yet: everything not yet on the panel, and what was created since the sync.
_HOLDING_STATUSES = ("pending", "paid", "provisioning", "error")
# Orders whose server (or hold) takes CPU on its node: every one holding an allocation and not
# ended.
_CPU_STATUSES = (*_HOLDING_STATUSES, "provisioned", "suspended")


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


def node_cpu_committed(*, node: Node) -> int:
    """CPU (percent of a core) our orders commit on a node: the panel keeps no CPU total per
    node, so only the servers we sell (and hold) there count (docs/storefront.md, "Stock")."""
    rows = Allocation.objects.filter(node=node, order__status__in=_CPU_STATUSES)
    return sum(rows.values_list("order__plan__cpu", flat=True))


def _fit_count(*, size: int, overallocate: int, committed: int, need: int) -> int | None:
    """How many more of `need` fit under size x (1 + overallocate/100) with `committed` used
    (the panel's rule, pterodactyl/panel v1.11.8 app/Models/Node.php isViable), in integers so
    1126.4 MiB of ceiling never rounds into one server too many. None: not a limit (the plan
    asks 0 = unlimited, which the panel adds as nothing, or the node does not check: -1)."""
    if need <= 0 or overallocate == -1:
        return None
    room_x100 = size * (100 + overallocate) - committed * 100
    return max(0, room_x100 // (need * 100))


@dataclass(frozen=True)
class NodeRoom:
    """How many servers of one plan a node can still take, by each limit (None = no limit)."""

    node: Node
    memory: int | None
    disk: int | None
    cpu: int | None
    ports: int

    @property
    def resources(self) -> int:
        """Servers that fit by memory, disk and CPU (ports aside)."""
        limits = [n for n in (self.memory, self.disk, self.cpu) if n is not None]
        return min(limits) if limits else _UNLIMITED

    @property
    def count(self) -> int:
        return min(self.resources, self.ports)

    @property
    def limited_by(self) -> str:
        """The limit that runs out first ("" while there is room)."""
        if self.count > 0:
            return ""
        for name in ("memory", "disk", "cpu"):
            if getattr(self, name) == 0:
                return name
        return "ports"


# A node with no resource limit at all is bounded by its ports only.
_UNLIMITED = 1 << 62


def node_resource_room(*, node: Node, plan: Plan) -> NodeRoom:
    """Room by memory, disk and CPU (ports not counted: ports=0)."""
    memory, disk = node_committed(node=node)
    cpu = node_cpu_committed(node=node) if node.cpu and plan.cpu else 0
    return NodeRoom(
        node=node,
        memory=_fit_count(
            size=node.memory,
            overallocate=node.memory_overallocate,
            committed=memory,
            need=plan.memory,
        ),
        disk=_fit_count(
            size=node.disk, overallocate=node.disk_overallocate, committed=disk, need=plan.disk
        ),
        cpu=(
            _fit_count(
                size=node.cpu, overallocate=node.cpu_overallocate, committed=cpu, need=plan.cpu
            )
            if node.cpu
            else None
        ),
        ports=0,
    )


def node_free_sets(*, node: Node, plan: Plan) -> int:
    """How many port sets of the plan's template the node's free ports still make (a plan
    with no template: one port a set, the free ports)."""
    template = plan.ports()
    rows = free_allocations(node=node, plan=plan)
    if template.size == 1:
        return rows.count()
    return sets_count(free=free_ports(node=node, plan=plan), template=template)


def free_ports(*, node: Node, plan: Plan) -> list[Free]:
    """The node's free ports in the plan's range, as catalog.ports' picker takes them."""
    rows = free_allocations(node=node, plan=plan).values_list("pk", "ip", "port")
    return [Free(pk=pk, ip=ip, port=port) for pk, ip, port in rows]


def node_room(*, node: Node, plan: Plan) -> NodeRoom:
    """How many servers of `plan` the node can still place: memory, disk and CPU under the
    node's overallocation, and free port sets of the plan's template (ports in the plan's
    range). Live holds (unpaid checkouts) are counted: they hold their ports and their
    plan's size."""
    room = node_resource_room(node=node, plan=plan)
    ports = node_free_sets(node=node, plan=plan) if room.resources > 0 else 0
    return NodeRoom(node=node, memory=room.memory, disk=room.disk, cpu=room.cpu, ports=ports)


def node_fits(*, node: Node, plan: Plan) -> bool:
    """One more server of the plan fits by memory, disk and CPU (ports aside)."""
    return node_resource_room(node=node, plan=plan).resources > 0


def free_allocations(*, node: Node, plan: Plan | None = None) -> QuerySet[Allocation]:
    """Ports free in the panel (as synced), not reserved by any order (as its primary or as
    an extra port, billing.OrderPort), and (given a plan) in the plan's port range."""
    rows = Allocation.objects.filter(
        node=node, assigned=False, order__isnull=True, order_port__isnull=True
    )
    if plan is not None and plan.port_bounds():
        in_range = Q()
        for low, high in plan.port_bounds():
            in_range |= Q(port__gte=low, port__lte=high)
        rows = rows.filter(in_range)
    return rows


def region_nodes(*, region: Region) -> QuerySet[Node]:
    """The nodes that may take new servers: mapped to the region, not in the panel's
    maintenance mode, not drained by the operator (catalog/placement.py orders them)."""
    return region.nodes.filter(maintenance_mode=False, drained=False).order_by("ptero_node_id")


def region_rooms(*, region: Region, plan: Plan) -> list[NodeRoom]:
    return [node_room(node=node, plan=plan) for node in region_nodes(region=region)]


def region_stock(*, region: Region, plan: Plan) -> int:
    """How many more servers of this plan the region can place right now: the one stock
    figure the shop shows, checkout enforces (catalog.services.allocation_claim places on
    the same rooms) and `doctor` reports. 0 = sold out. Each checkout takes exactly one from
    one node's room (one port set: catalog.ports.sets_pick, the same picker the checkout
    claims with), so the figure is the number of checkouts that can still succeed."""
    return sum(room.count for room in region_rooms(region=region, plan=plan))
