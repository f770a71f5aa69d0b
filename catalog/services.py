"""Writes to the catalogue: reserving capacity for an order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, transaction

from catalog.models import Allocation, Node, Plan, Region
from catalog.placement import placement_claim_order
from catalog.selectors import free_allocations, node_fits

T = TypeVar("T")


# How many free ports to try before giving up on a region (each try is a savepoint).
_CANDIDATES = 50


def allocation_claim(*, region: Region, plan: Plan, claim: Callable[[Allocation], T]) -> T | None:
    """Reserve a free port of the region for the plan. `claim(allocation)` writes the row
    that holds it (an order, whose `allocation` column is unique): the unique index decides
    between concurrent checkouts, and an IntegrityError means another one got that port first,
    so the next is tried. Returns what `claim` returned, or None when the region cannot place
    the plan (no node with room, or no free port).

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
            for allocation in free_allocations(node=node, plan=plan).order_by("port", "pk")[
                :_CANDIDATES
            ]:
                try:
                    with transaction.atomic():
                        return claim(allocation)
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
