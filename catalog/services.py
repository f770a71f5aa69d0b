"""Writes to the catalogue: reserving capacity for an order."""

from __future__ import annotations

from django.db import transaction

from catalog.models import Allocation, Plan, Region
from catalog.selectors import free_allocations, node_fits, region_nodes


def allocation_reserve(
    *, region: Region, plan: Plan, exclude_ids: tuple[int, ...] = ()
) -> Allocation | None:
    """Pick a free allocation on a node of the region that can hold the plan, locked for the
    caller's transaction. The caller stores it on its order; the order's unique `allocation`
    column is what makes the reservation exclusive (IntegrityError = taken meanwhile).

    Must be called inside a transaction. Returns None when the region cannot place the plan.
    """
    assert transaction.get_connection().in_atomic_block, "allocation_reserve needs a transaction"
    for node in region_nodes(region=region):
        if not node_fits(node=node, plan=plan):
            continue
        candidate = (
            free_allocations(node=node, plan=plan)
            .exclude(pk__in=exclude_ids)
            .select_for_update(skip_locked=True)
            .order_by("port", "pk")
            .first()
        )
        if candidate is not None:
            return candidate
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
