"""The catalogue's checks for `manage.py doctor` (core/doctor.py prints them in its order):
plans have an egg, a price and only user-editable variables; regions map to nodes with free
ports; the stock per plan and region, and the regions running low (a warning)."""

from __future__ import annotations

from django.conf import settings

from core.doctor import CHECKS, Check


def _check_plans() -> list[Check]:
    from catalog.models import Egg, Plan

    eggs = Check("Every active plan has a synced egg")
    prices = Check("Every active plan has a Stripe price")
    known = set(Egg.objects.values_list("ptero_egg_id", flat=True))
    for plan in Plan.objects.filter(active=True).order_by("slug"):
        if plan.egg_id not in known:
            eggs.problems.append(
                f"plan '{plan.slug}' uses egg {plan.egg_id}, which the catalogue does not have: "
                "run `manage.py panel_sync`, or pick another egg (admin → Catalog → Plans)"
            )
        if not plan.stripe_price_id.strip():
            prices.problems.append(
                f"plan '{plan.slug}' has no Stripe price: create a price in Stripe and set its "
                "id (price_...) on the plan (admin → Catalog → Plans)"
            )
    return [eggs, prices, _check_plan_variables(known)]


def _check_plan_variables(known: set[int]) -> Check:
    from catalog.models import Plan

    check = Check("Plans offer customers only user-editable egg variables")
    plans = Plan.objects.filter(active=True, egg_id__in=known).select_related("egg")
    for plan in plans.order_by("slug"):
        for problem in plan.customer_variable_problems():
            check.problems.append(
                f"plan '{plan.slug}' offers {problem} Remove it from the plan's customer "
                "variables (admin → Catalog → Plans)"
            )
    return check


def _check_regions() -> list[Check]:
    from catalog.models import Plan, Region
    from catalog.selectors import free_allocations, region_nodes

    mapped = Check("Every active region maps to a node")
    ports = Check("Every mapped node has free ports for a plan")
    plans = list(Plan.objects.filter(active=True))
    seen: set[int] = set()
    for region in Region.objects.filter(active=True).order_by("slug"):
        nodes = list(region_nodes(region=region))
        if not nodes:
            mapped.problems.append(
                f"region '{region.slug}' ({region.name}) has no node (outside maintenance): map "
                "one (admin → Catalog → Regions), or set its panel location id and run "
                "`manage.py panel_sync`"
            )
        for node in nodes:
            if node.pk in seen:
                continue
            seen.add(node.pk)
            has_free = (
                any(free_allocations(node=node, plan=plan).exists() for plan in plans)
                if plans
                else free_allocations(node=node).exists()
            )
            if not has_free:
                ports.problems.append(
                    f"node '{node.name}' (panel node {node.ptero_node_id}) has no free port in "
                    "any plan's port range: add allocations in the panel, then "
                    "`manage.py panel_sync`"
                )
    return [mapped, ports]


def _check_stock() -> Check:
    """The stock the shop shows (catalog.selectors.region_rooms, the one stock figure), per
    plan and region, and the plans that cannot be placed anywhere, with what runs out."""
    from catalog.models import Plan, Region
    from catalog.selectors import region_rooms

    check = Check("Every active plan can be placed in some region")
    regions = list(Region.objects.filter(active=True).order_by("sort_order", "slug"))
    for plan in Plan.objects.filter(active=True, game__active=True).select_related("game"):
        reasons = []
        total = 0
        for region in regions:
            rooms = region_rooms(region=region, plan=plan)
            count = sum(room.count for room in rooms)
            total += count
            why = ", ".join(f"node '{r.node.name}' {r.limited_by}" for r in rooms) or "no node"
            check.details.append(
                f"{plan.slug} in {region.slug}: "
                + (f"{count} available" if count else f"sold out ({why})")
            )
            reasons.append(f"{region.slug}: {why}")
        if regions and total == 0:
            check.problems.append(
                f"plan '{plan.slug}' cannot be placed in any region ({'; '.join(reasons)}): "
                "add nodes or allocations in the panel, raise the nodes' overallocation, then "
                "`manage.py panel_sync`"
            )
    return check


def _check_stock_threshold() -> Check:
    """Uses the shop's own stock rule (catalog.selectors.region_stock: free ports on nodes
    with room for the plan), so the warning matches what checkout will refuse."""
    from catalog.models import Plan, Region
    from catalog.selectors import region_stock

    below = settings.STOCK_WARN_BELOW
    check = Check(f"Every region can place at least {below} more of each active plan")
    plans = list(Plan.objects.filter(active=True, game__active=True).order_by("slug"))
    for region in Region.objects.filter(active=True).order_by("slug"):
        for plan in plans:
            stock = region_stock(region=region, plan=plan)
            if stock < below:
                check.warnings.append(
                    f"region '{region.slug}' can place {stock} more '{plan.slug}' (threshold "
                    f"{below}, STOCK_WARN_BELOW): add ports or nodes in the panel, then "
                    "`manage.py panel_sync`"
                )
    return check


def _check_nodes() -> Check:
    """Per node: how full it is (the fill placement's spread policy uses), whether it is
    drained, its weight, and its free ports (docs/ports-and-placement.md). Figures only;
    a region whose nodes are all drained is reported by the stock checks."""
    from catalog.models import Node
    from catalog.placement import node_fill
    from catalog.selectors import free_allocations

    check = Check("Nodes: fill, drain and free ports")
    for node in Node.objects.prefetch_related("regions").order_by("ptero_node_id"):
        regions = ", ".join(sorted(r.slug for r in node.regions.all())) or "no region"
        state = []
        if node.drained:
            state.append("drained: no new servers")
        if node.maintenance_mode:
            state.append("maintenance mode")
        check.details.append(
            f"node '{node.name}' (panel node {node.ptero_node_id}; {regions}): "
            f"{node_fill(node=node):.0%} full, weight {node.weight}, "
            f"{free_allocations(node=node).count()} free ports"
            + (f", {', '.join(state)}" if state else "")
        )
    return check


def _check_port_sets() -> Check:
    """Ports left per template: for each active plan with a port template, how many whole
    port sets each node of its regions still has free (catalog.selectors.node_free_sets,
    the figure the stock counts; docs/ports-and-placement.md). A node can have free ports and
    no set: a "+k" needs its neighbour free."""
    from catalog.models import Node, Plan
    from catalog.selectors import node_free_sets

    check = Check("Port sets left per node for each plan with a port template")
    plans = [
        p
        for p in Plan.objects.filter(active=True, game__active=True).order_by("slug")
        if p.ports().size > 1
    ]
    for plan in plans:
        size = plan.ports().size
        nodes = Node.objects.filter(regions__active=True).distinct().order_by("ptero_node_id")
        for node in nodes:
            sets = node_free_sets(node=node, plan=plan)
            check.details.append(
                f"{plan.slug} on node '{node.name}': {sets} set{'s' if sets != 1 else ''} "
                f"of {size} ports left"
            )
    return check


def register() -> None:
    CHECKS.register("plans", _check_plans)
    CHECKS.register("regions", _check_regions)
    CHECKS.register("nodes", _check_nodes)
    CHECKS.register("port_sets", _check_port_sets)
    CHECKS.register("stock", _check_stock)
    CHECKS.register("stock_threshold", _check_stock_threshold)
