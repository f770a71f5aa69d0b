"""Where a new server goes: the order in which checkout tries a region's nodes.

The region's `placement_policy` decides (docs/ports-and-placement.md, "Placement"):

- pack: highest `weight` first, then the panel's node id. Each node fills before the next
  takes a server, so a quiet region leaves whole nodes empty.
- spread: the least-loaded node first. A node's load is its fill (the fullest of memory,
  disk and CPU, as a share of what the node may commit under its overallocation) divided by
  its `weight`; ties go to the node with fewer of our servers per weight, then the node id.
  A node of weight 2 is chosen until it is twice as full as one of weight 1.

A drained node (`Node.drained`) and one in the panel's maintenance mode take no new server:
they are never in the order and never in the stock (catalog.selectors.region_nodes). Servers
already on them are untouched: renewals, suspensions and plan changes act on the order's own
allocation, never through placement.
"""

from __future__ import annotations

from django.db import transaction

from catalog.models import Allocation, Node, PlacementPolicy, Plan, Region
from catalog.selectors import (
    _CPU_STATUSES,
    node_committed,
    node_cpu_committed,
    node_fits,
    region_nodes,
)
from core import clock


def _share(committed: int, ceiling: float) -> float | None:
    """committed / ceiling; None when the node does not limit this (no size, or -1)."""
    if ceiling == float("inf") or ceiling <= 0:
        return None
    return committed / ceiling


def node_fill(*, node: Node) -> float:
    """How full the node is, 0.0 to 1.0 (more when the panel's own servers overrun it): the
    fullest of memory, disk and CPU against its ceilings. 0.0 for a node that limits none."""
    memory, disk = node_committed(node=node)
    shares = [
        _share(memory, node.memory_ceiling),
        _share(disk, node.disk_ceiling),
        _share(node_cpu_committed(node=node), node.cpu_ceiling) if node.cpu else None,
    ]
    known = [s for s in shares if s is not None]
    return max(known) if known else 0.0


def node_servers(*, node: Node) -> int:
    """Our orders that hold a port on the node and take room there (held, paid or running)."""
    return Allocation.objects.filter(node=node, order__status__in=_CPU_STATUSES).count()


def node_load(*, node: Node) -> tuple[float, float, int]:
    """The spread policy's sort key: (fill / weight, servers / weight, panel node id)."""
    weight = max(node.weight, 1)
    return (node_fill(node=node) / weight, node_servers(node=node) / weight, node.ptero_node_id)


def placement_order(*, region: Region, plan: Plan) -> list[Node]:
    """The region's nodes that can take one more server of `plan` (by memory, disk and CPU;
    drained and maintenance nodes excluded), in the order the region's policy tries them."""
    nodes = [n for n in region_nodes(region=region) if node_fits(node=n, plan=plan)]
    if region.placement_policy == PlacementPolicy.SPREAD:
        return sorted(nodes, key=lambda n: node_load(node=n))
    return sorted(nodes, key=lambda n: (-n.weight, n.ptero_node_id))


def placement_claim_order(*, region: Region, plan: Plan) -> list[Node]:
    """`placement_order`, with every node in it locked first, in primary-key order, in one
    statement (when called inside a transaction, as checkout does).

    Why: checkout claims inside the customer's transaction, so a node locked while trying it
    stays locked until that transaction ends. Visiting nodes in the policy's order (which for
    spread changes with every sale) and locking each on the way could make two checkouts wait
    for each other's nodes (a deadlock). Taking all the locks at once, always in the same
    order, and none afterwards, cannot: every checkout waits at most in this one statement.
    Nodes that cannot take the plan are not locked at all, so checkouts of a small plan are
    not held up by a full node. Outside a transaction each node is locked on its own as it
    is tried (catalog.services.allocation_claim), which holds one lock at a time."""
    nodes = placement_order(region=region, plan=plan)
    if nodes and transaction.get_connection().in_atomic_block:
        list(
            Node.objects.select_for_update()
            .filter(pk__in=[n.pk for n in nodes])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return nodes


def node_drain_set(*, node_id: int, drained: bool) -> bool:
    """Drain a node (no new servers) or lift the drain. Lifting it is a capacity event: the
    customers waiting for the node's regions are told (catalog/waitlist.py). Returns whether
    anything changed."""
    from catalog.waitlist import waitlist_capacity_freed

    with transaction.atomic():
        changed = Node.objects.filter(pk=node_id).exclude(drained=drained).update(drained=drained)
        if changed and not drained:
            waitlist_capacity_freed(
                region_ids=node_region_ids(node_id=node_id),
                event=f"node-{node_id}-undrained-{clock.now():%Y%m%dT%H%M%S%f}",
            )
    return bool(changed)


def node_region_ids(*, node_id: int) -> list[int]:
    return list(Region.objects.filter(nodes__pk=node_id).values_list("pk", flat=True))
