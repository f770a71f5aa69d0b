"""`manage.py doctor`: is this installation ready to sell? Each check names what to fix.

Reads only, plus one read call to the panel and one to Stripe (the webhook endpoints). The
catalogue, panel, billing and secrets are imported lazily so `core` stays importable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings


@dataclass
class Check:
    name: str
    problems: list[str] = field(default_factory=list)
    # Figures shown under the check's line (e.g. the stock per plan and region).
    details: list[str] = field(default_factory=list)
    # Worth fixing, but the shop still sells: printed as WARN, the exit status stays 0.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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


def _check_nodes() -> Check:
    """Per node: how full it is (the fill placement's spread policy uses), whether it is
    drained, its weight, and its free ports (docs/placement-and-waitlist.md). Figures only;
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


def _check_panel() -> Check:
    from panel.client import PanelClient
    from panel.errors import PanelError

    check = Check("The panel URL and application key work")
    try:
        with PanelClient.from_settings() as client:
            client.locations_list()
    except PanelError as exc:
        check.problems.append(f"{exc} (check panel.PANEL_URL and panel.PANEL_APP_KEY)")
    except Exception as exc:  # an undecryptable secret, a malformed URL...
        check.problems.append(f"{exc}")
    return check


def _check_panel_client_key() -> Check:
    """The client area's live state and power use a client API key (``ptlc_``) of a root
    admin; with a provisioned server, one read proves the key sees customers' servers."""
    from billing.models import Order
    from core.secrets import secret_get
    from panel.client import PanelClient
    from panel.errors import PanelError, PanelNotFoundError

    check = Check("The panel client key (live state and power) works")
    try:
        key = secret_get("panel.PANEL_CLIENT_KEY")
    except Exception as exc:  # undecryptable: the secrets check names the fix
        check.problems.append(f"{exc}")
        return check
    if not key:
        check.problems.append(
            "panel.PANEL_CLIENT_KEY is not set: pages say the live state is unavailable and "
            "power buttons fail (create a client API key of a root-admin panel account, "
            "then `manage.py secrets set panel.PANEL_CLIENT_KEY ptlc_...`)"
        )
        return check
    if not key.startswith("ptlc_"):
        check.problems.append("panel.PANEL_CLIENT_KEY is not a client API key (ptlc_...)")
        return check
    order = Order.objects.filter(status="provisioned").exclude(ptero_identifier="").first()
    if order is None:
        return check
    try:
        with PanelClient.from_settings() as client:
            client.client_server_view(identifier=order.ptero_identifier)
    except PanelNotFoundError:
        check.problems.append(
            f"the client key cannot see server {order.ptero_identifier} (order #{order.pk}): "
            "use a key of a root-admin account"
        )
    except PanelError as exc:
        check.problems.append(f"{exc} (check panel.PANEL_CLIENT_KEY)")
    return check


def _check_stripe() -> Check:
    check = Check("The Stripe secret key and webhook secret are set")
    if not settings.STRIPE_SECRET_KEY:
        check.problems.append("STRIPE_SECRET_KEY is not set (sk_live_... or sk_test_...)")
    if not settings.STRIPE_WEBHOOK_SECRET:
        check.problems.append(
            "STRIPE_WEBHOOK_SECRET is not set (whsec_..., from the webhook endpoint in Stripe)"
        )
    return check


def _check_stripe_webhook() -> Check:
    check = Check("This installation's Stripe webhook endpoint sends every handled event")
    if not settings.STRIPE_SECRET_KEY:
        check.problems.append("cannot be checked without STRIPE_SECRET_KEY")
        return check
    from billing.setup import webhook_endpoint_problems

    check.problems.extend(webhook_endpoint_problems())
    return check


def _check_secrets() -> Check:
    from core.crypto import decrypt
    from core.models import Secret

    check = Check("AES_KEY decrypts every stored secret")
    for row in Secret.objects.order_by("name"):
        try:
            decrypt(bytes(row.ciphertext), associated_data=row.name)
        except Exception as exc:
            check.problems.append(f"{exc} ({row.name}: set it again with `manage.py secrets set`)")
    return check


# --- warnings (docs/console.md, "doctor's warnings") -----------------------------------------


def _check_alert_urls() -> Check:
    check = Check("Alerts are delivered somewhere (ALERT_URLS)")
    if not settings.ALERT_URLS:
        check.warnings.append(
            "ALERT_URLS is empty: alerts are only stored (admin → Core → Alerts), nobody is "
            "told. Set one or more apprise URLs, e.g. mailto://..., or json:// to a webhook"
        )
    return check


def _check_worker() -> Check:
    from core.duties import duties_overdue
    from core.heartbeats import heartbeat_age

    check = Check("The worker beats and its duties run")
    limit = settings.HEARTBEAT_STALE_SECONDS
    age = heartbeat_age(name="worker")
    if age is None:
        check.warnings.append("no worker heartbeat yet: start `manage.py worker`")
    elif age.total_seconds() > limit:
        check.warnings.append(
            f"the worker's last heartbeat was {age.total_seconds():.0f}s ago (limit {limit:g}s): "
            "is `manage.py worker` running and reaching the database?"
        )
    for late in duties_overdue():
        check.warnings.append(
            f"duty '{late.name}' last started {late.describe_age()} (limit {late.limit:g}s)"
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


def doctor_run() -> list[Check]:
    """Every check, in a fixed order."""
    return [
        *_check_plans(),
        *_check_regions(),
        _check_nodes(),
        _check_stock(),
        _check_port_sets(),
        _check_panel(),
        _check_panel_client_key(),
        _check_stripe(),
        _check_stripe_webhook(),
        _check_secrets(),
        _check_alert_urls(),
        _check_worker(),
        _check_stock_threshold(),
    ]
