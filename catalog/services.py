"""Writes to the catalogue: reserving capacity for an order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, transaction

from catalog.models import Allocation, Node, Plan, Region
from catalog.placement import placement_claim_order
from catalog.ports import Free, extras_for_primary, sets_pick
from catalog.selectors import free_allocations, free_ports, node_fits

T = TypeVar("T")

# claim(primary, extras): writes the rows that hold the set; extras maps each extra slot of
# the plan's port template ("+1", "any:APP_PORT") to its allocation.
SetClaim = Callable[[Allocation, dict[str, Allocation]], T]

# How many free ports (or port sets) to try before giving up on a node (each try is a
# savepoint).
_CANDIDATES = 50


def allocation_claim(*, region: Region, plan: Plan, claim: SetClaim[T]) -> T | None:
    """Reserve a free port set of the region for the plan: its primary port and the extra
    ports of its port template (catalog/ports.py). `claim(primary, extras)` writes the rows
    that hold them (an order, whose `allocation` column is unique, and one billing.OrderPort
    per extra port, unique too) in one savepoint: the unique indexes decide between
    concurrent checkouts, an IntegrityError on any port rolls the whole set back (an order
    holds all its ports or none) and another set is tried. Returns what `claim` returned, or
    None when the region cannot place the plan (no node with room, or no free set).

    The node's row is locked while its room is checked and the port claimed: checkouts
    placing on one node go one at a time, so two customers never both take its last room
    (the stock the shop shows is exactly what can be sold). No row locks on the allocations:
    InnoDB locks every row a sorted FOR UPDATE scan reads, and SKIP LOCKED joined to orders
    skips ports held by other checkouts' uncommitted rows; either made concurrent checkouts
    look sold out.

    Nodes are tried in the region's placement order (catalog/placement.py: pack or spread;
    drained nodes never). Inside a transaction (checkout's), placement_claim_order has
    already locked every node it returns, in primary-key order and in one statement, so the
    per-node lock below waits for nothing and two checkouts cannot deadlock whatever order
    each visits its nodes in. Outside one, each node is locked in its own transaction, one at
    a time."""
    for node in placement_claim_order(region=region, plan=plan):
        with transaction.atomic():
            Node.objects.select_for_update().filter(pk=node.pk).values_list("pk").first()
            if not node_fits(node=node, plan=plan):
                continue
            claimed = port_set_claim(node=node, plan=plan, claim=claim)
            if claimed is not None:
                return claimed
    return None


def port_set_claim(*, node: Node, plan: Plan, claim: SetClaim[T]) -> T | None:
    """Claim one free port set of the plan on the node (the caller holds the node's lock).
    The set is the first catalog.ports.sets_pick finds, the same picker the stock counts
    with. After an IntegrityError (a port of the set was taken meanwhile) the free ports are
    read again without that set's, and the next set is tried."""
    template = plan.ports()
    if template.size == 1:
        # One port a server: the lowest free ports, each tried alone (no full scan).
        for allocation in free_allocations(node=node, plan=plan).order_by("port", "pk")[
            :_CANDIDATES
        ]:
            try:
                with transaction.atomic():
                    return claim(allocation, {})
            except IntegrityError:
                continue
        return None
    lost: set[int] = set()
    for _ in range(_CANDIDATES):
        free = [f for f in free_ports(node=node, plan=plan) if f.pk not in lost]
        picked = next(sets_pick(free=free, template=template), None)
        if picked is None:
            return None
        rows = Allocation.objects.in_bulk(picked.pks)
        try:
            with transaction.atomic():
                return claim(
                    rows[picked.primary], {slot: rows[pk] for slot, pk in picked.extras.items()}
                )
        except IntegrityError:
            lost.update(picked.pks)
    return None


def port_extras_claim(
    *,
    plan: Plan,
    primary: Allocation,
    have: dict[str, int],
    claim: Callable[[dict[str, Allocation]], T],
) -> T | None:
    """For a server that keeps its primary port (a plan change): the extra ports `plan`'s
    template needs, keeping the slots already held (`have`: slot -> allocation pk).
    `claim(extras)` writes them in a savepoint under the node's lock, as at checkout. None:
    a slot cannot be filled on the primary's IP."""
    with transaction.atomic():
        node = primary.node
        Node.objects.select_for_update().filter(pk=node.pk).values_list("pk").first()
        for _ in range(_CANDIDATES):
            free = free_ports(node=node, plan=plan)
            chosen = extras_for_primary(
                free=free,
                template=plan.ports(),
                primary=Free(pk=primary.pk, ip=primary.ip, port=primary.port),
                have=have,
            )
            if chosen is None:
                return None
            rows = Allocation.objects.in_bulk(chosen.values())
            try:
                with transaction.atomic():
                    return claim({slot: rows[pk] for slot, pk in chosen.items()})
            except IntegrityError:
                continue
    return None


def allocation_mark_taken(*, allocation_id: int) -> None:
    """The panel told us this port is in use (422 on allocation.default): don't offer it again
    until the next sync says otherwise."""
    Allocation.objects.filter(pk=allocation_id).update(assigned=True)


def catalog_load_demo() -> None:
    """Create or update the demo games, plans and regions (catalog/demo.py). Eggs, nodes and
    allocations must have been synced from the panel first."""
    from catalog import demo
    from catalog.models import Egg, Game
    from catalog.sync import region_nodes_link

    with transaction.atomic():
        for spec in demo.REGIONS:
            Region.objects.update_or_create(slug=spec["slug"], defaults=spec)
        games = {}
        for spec in demo.GAMES:
            games[spec["slug"]], _ = Game.objects.update_or_create(slug=spec["slug"], defaults=spec)
        for spec in demo.PLANS:
            fields = dict(spec)
            fields["game"] = games[fields["game"]]
            fields["egg"] = Egg.objects.get(ptero_egg_id=fields["egg"])
            Plan.objects.update_or_create(slug=fields.pop("slug"), defaults=fields)
        region_nodes_link()
