"""`manage.py doctor`: all green on the demo set-up; each problem named, exit status non-zero."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Node, Plan, Region, RegionNodeMap
from catalog.selectors import region_stock
from core.heartbeats import heartbeat_beat
from core.models import Secret

pytestmark = pytest.mark.django_db(transaction=True)


def _doctor() -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("doctor", stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.fixture
def endpoint(stripe_sandbox, settings):
    """This installation's webhook endpoint, made as an operator does (`stripe_setup`)."""
    call_command("stripe_setup", stdout=io.StringIO())


def test_demo_setup_is_all_green(catalog, endpoint, settings):
    settings.ALERT_URLS = ["json://127.0.0.1:9/alerts"]
    heartbeat_beat(name="worker")
    out, error = _doctor()
    assert error is None, out
    lines = out.splitlines()
    assert lines == [
        "ok    Every active plan has a synced egg",
        "ok    Every active plan has a Stripe price",
        "ok    Plans offer customers only user-editable egg variables",
        "ok    Every active region maps to a node",
        "ok    Every mapped node has free ports for a plan",
        # Per node: fill, weight, free ports (tests/test_placement.py checks the figures).
        "ok    Nodes: fill, drain and free ports",
        *[line for line in lines if line.startswith("      node '")],
        "ok    Every active plan can be placed in some region",
        # The stock the shop shows, one line per plan and region (catalog.selectors).
        *[
            f"      {plan.slug} in {region.slug}: "
            f"{region_stock(region=region, plan=plan)} available"
            for plan in Plan.objects.filter(active=True)
            for region in Region.objects.filter(active=True).order_by("sort_order", "slug")
        ],
        "ok    Port sets left per node for each plan with a port template",
        # Rust: 28015-28024 on ny-1 and fra-1 make 3 sets of 3 (primary, +1, any); ny-2 has
        # no port in Rust's range.
        *[
            f"      {slug} on node '{node}': {sets} of 3 ports left"
            for slug in ("rust-4gb", "rust-8gb")
            for node, sets in (("ny-1", "3 sets"), ("ny-2", "0 sets"), ("fra-1", "3 sets"))
        ],
        "ok    The panel URL and application key work",
        "ok    The panel client key (live state and power) works",
        "ok    The Stripe secret key and webhook secret are set",
        "ok    This installation's Stripe webhook endpoint sends every handled event",
        "ok    AES_KEY decrypts every stored secret",
        "ok    Alerts are delivered somewhere (ALERT_URLS)",
        "ok    The worker beats and its duties run",
        "ok    Every region can place at least 2 more of each active plan",
        "All checks passed.",
    ]


def test_warnings_name_what_to_look_at_and_exit_zero(catalog, endpoint, settings):
    """No alert target, a stale worker and an overdue duty, a region nearly sold out: the shop
    still sells, so doctor warns (exit 0) and names each one."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.selectors import region_stock
    from core.models import DutyLease, Heartbeat

    settings.ALERT_URLS = []
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=600))
    DutyLease.objects.create(
        name="reconcile",
        interval_seconds=60,
        last_started_at=timezone.now() - timedelta(seconds=900),
    )
    region = Region.objects.get(slug="eu-west")
    plan = Plan.objects.get(slug="rust-8gb")
    stock = region_stock(region=region, plan=plan)
    settings.STOCK_WARN_BELOW = stock + 1  # exactly at the edge for this pair

    out, error = _doctor()
    assert error is None, out
    warns = [line for line in out.splitlines() if line.startswith("WARN")]
    assert warns[0] == (
        "WARN: Alerts are delivered somewhere (ALERT_URLS): ALERT_URLS is empty: alerts are "
        "only stored (admin → Core → Alerts), nobody is told. Set one or more apprise URLs, "
        "e.g. mailto://..., or json:// to a webhook"
    )
    assert warns[1].startswith(
        "WARN: The worker beats and its duties run: the worker's last heartbeat was 60"
    )
    assert warns[2].startswith("WARN: The worker beats and its duties run: duty 'reconcile'")
    assert warns[2].endswith("s ago (limit 120s)")
    below = stock + 1
    assert (
        f"WARN: Every region can place at least {below} more of each active plan: region "
        f"'eu-west' can place {stock} more 'rust-8gb' (threshold {below}, STOCK_WARN_BELOW): "
        "add ports or nodes in the panel, then `manage.py panel_sync`"
    ) in warns
    assert out.splitlines()[-1] == f"All checks passed, {len(warns)} warnings."


def test_names_each_problem_and_fails(catalog, endpoint, settings):
    Plan.objects.filter(slug="rust-8gb").update(stripe_price_id="")
    RegionNodeMap.objects.filter(region__slug="eu-west").delete()
    Region.objects.filter(slug="eu-west").update(ptero_location_id=None)
    settings.STRIPE_WEBHOOK_SECRET = ""
    out, error = _doctor()
    assert error is not None and str(error) == "3 problems to fix."
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 3
    assert fails[0].startswith(
        "FAIL: Every active plan has a Stripe price: plan 'rust-8gb' has no Stripe price"
    )
    assert fails[1].startswith(
        "FAIL: Every active region maps to a node: region 'eu-west' (Frankfurt) has no node"
    )
    assert fails[2].startswith("FAIL: The Stripe secret key and webhook secret are set: ")
    assert "STRIPE_WEBHOOK_SECRET" in fails[2]
    assert "ok    Every active plan has a synced egg" in out


def test_unreachable_panel_and_wrong_aes_key(catalog, endpoint, settings):
    catalog.shutdown()  # the panel is gone
    out, error = _doctor()
    assert error is not None
    assert "FAIL: The panel URL and application key work: " in out

    settings.AES_KEY = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE="
    out, error = _doctor()
    assert error is not None
    names = sorted(Secret.objects.values_list("name", flat=True))
    for name in names:
        assert f"({name}: set it again with `manage.py secrets set`)" in out


def test_node_without_free_ports(catalog, endpoint):
    from catalog.models import Allocation

    Allocation.objects.filter(node__regions__slug="us-east").update(assigned=True)
    out, error = _doctor()
    assert error is not None
    assert "FAIL: Every mapped node has free ports for a plan: node '" in out
    assert "Every active region maps to a node" in out


def test_names_a_plan_that_cannot_be_placed_and_what_runs_out(catalog, endpoint):
    # Every node nearly full by memory: the 2 GB plan still fits, the 4 GB one nowhere.
    for node in Node.objects.all():
        Node.objects.filter(pk=node.pk).update(allocated_memory=node.memory - 3000)
    out, error = _doctor()
    assert error is not None
    fails = [line for line in out.splitlines() if "minecraft-4gb' cannot" in line]
    assert len(fails) == 1
    assert fails[0].startswith(
        "FAIL: Every active plan can be placed in some region: plan 'minecraft-4gb' cannot be "
        "placed in any region (us-east: node '"
    )
    assert "memory" in fails[0]
    assert "      minecraft-4gb in us-east: sold out (node '" in out
    assert "      minecraft-2gb in us-east: " in out
    assert "minecraft-2gb' cannot" not in out


def test_panel_client_key_missing_wrong_kind_or_blind(catalog, endpoint):
    from core.secrets import secret_delete, secret_set

    secret_delete(name="panel.PANEL_CLIENT_KEY")
    out, error = _doctor()
    assert str(error) == "1 problem to fix."
    assert (
        "FAIL: The panel client key (live state and power) works: panel.PANEL_CLIENT_KEY is "
        "not set" in out
    )
    secret_set(name="panel.PANEL_CLIENT_KEY", value=catalog.app_key)
    out, _ = _doctor()
    assert "panel.PANEL_CLIENT_KEY is not a client API key (ptlc_...)" in out
    # A customer's own key cannot see another customer's server.
    from testkit import make_customer

    from billing.models import Order
    from catalog.models import Plan, Region

    stranger = catalog.state.add_user("stranger", "stranger@example.com")
    own_key = "ptlc_Stranger001" + "e" * 32
    catalog.state.add_api_key(stranger["id"], own_key, kind="account")
    secret_set(name="panel.PANEL_CLIENT_KEY", value=own_key)
    user, _ = make_customer("doc@example.com")
    owner = catalog.state.add_user("docowner", "doc@example.com")
    server = {
        "id": 999,
        "uuid": "abcd1234-0000-4000-8000-000000000000",
        "owner_id": owner["id"],
        "node_id": 1,
        "status": None,
    }
    catalog.state.servers[999] = server
    Order.objects.create(
        user=user,
        plan=Plan.objects.get(slug="minecraft-2gb"),
        region=Region.objects.get(slug="us-east"),
        server_name="Doc",
        status="provisioned",
        ptero_identifier="abcd1234",
    )
    out, _ = _doctor()
    assert "the client key cannot see server abcd1234" in out
