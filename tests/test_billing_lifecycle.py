"""The server's whole life follows billing, driven by signed events through the real webhook
view, the Stripe sandbox's test clock, the real worker and the panel sandbox."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
import stripe
from django.core import mail
from testkit import checkout, run_worker

from billing.models import Order, OrderEvent
from catalog.models import Node, Plan
from core import clock
from core.models import Alert
from provisioning.lifecycle import billing_scan
from sandbox.stripe import StripeSandbox

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 86400
SUSPEND = "POST /api/application/servers/{server}/suspend"
UNSUSPEND = "POST /api/application/servers/{server}/unsuspend"
DELETE = "DELETE /api/application/servers/{server}"


class Deliveries:
    """The sandbox's webhook deliveries: straight to our view, or held and then sent twice
    each, shuffled (Stripe's at-least-once, unordered delivery)."""

    def __init__(self, poster, *, twice_shuffled: bool) -> None:
        self.poster = poster
        self.twice_shuffled = twice_shuffled
        self.held: list[tuple[str, str]] = []
        self.rng = random.Random(5)

    def __call__(self, body: str, signature: str) -> int:
        if self.twice_shuffled:
            self.held.append((body, signature))
            return 200
        return self.poster(body, signature)

    def flush(self) -> None:
        batch, self.held = self.held * 2, []
        self.rng.shuffle(batch)
        for body, signature in batch:
            assert self.poster(body, signature) == 200


@pytest.fixture
def deliveries(webhook_poster, request):
    return Deliveries(webhook_poster, twice_shuffled=getattr(request, "param", False))


@pytest.fixture
def billing_sb(catalog, deliveries, settings, monkeypatch):
    """A Stripe sandbox selling monthly plans, whose test clock is our clock."""
    sb = StripeSandbox(
        api_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        deliver=deliveries,
    )
    settings.STRIPE_API_BASE = sb.serve()
    sb.add_price(
        "price_mc4_month",
        unit_amount=1500,
        product_name="Minecraft 4 GB",
        recurring_interval="month",
    )
    sb.add_price(
        "price_mc8_month",
        unit_amount=2800,
        product_name="Minecraft 8 GB",
        recurring_interval="month",
    )
    four = Plan.objects.get(slug="minecraft-4gb")
    Plan.objects.filter(pk=four.pk).update(
        recurring_interval="month", stripe_price_id="price_mc4_month"
    )
    # The demo's 8 GB plan (catalog/demo.py), sized like the 4 GB one but for memory and disk.
    Plan.objects.filter(slug="minecraft-8gb").update(
        stripe_price_id="price_mc8_month",
        cpu=four.cpu,
        backups=four.backups,
        databases=four.databases,
    )
    monkeypatch.setattr(clock, "now", lambda: datetime.fromtimestamp(sb.now(), UTC))
    yield sb
    sb.shutdown()


def _settle(deliveries: Deliveries) -> None:
    deliveries.flush()
    run_worker()


def _tick(deliveries: Deliveries) -> None:
    """What the worker's periodic tick does for billing: time-driven changes."""
    billing_scan()
    _settle(deliveries)


def _buy_monthly(client, sb, deliveries) -> Order:
    response = checkout(client, plan="minecraft-4gb")
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    _settle(deliveries)
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert order.stripe_subscription_id and order.current_period_end
    return order


def _panel_agrees(panel, order: Order) -> None:
    """The panel sandbox's server is in the state the order says."""
    order.refresh_from_db()
    server = panel.state.servers.get(order.ptero_server_id)
    if order.status == "terminated":
        assert server is None
    else:
        assert server is not None
        assert (server["status"] == "suspended") == (order.status == "suspended"), order.status


def _open_invoice(sb: StripeSandbox, order: Order) -> str:
    [invoice] = [
        i
        for i in sb.invoices.values()
        if i["status"] == "open"
        and i["parent"]["subscription_details"]["subscription"] == order.stripe_subscription_id
    ]
    return invoice["id"]


def _year(panel, sb, client, deliveries, settings) -> tuple[Order, dict[str, int]]:
    order = _buy_monthly(client, sb, deliveries)
    customer_id = order.stripe_customer_id
    panel.reset_counters()
    renewals = 0
    for month in range(1, 13):
        if month in (3, 6):
            sb.set_payment_failing(customer_id, True)
        sb.advance_to(order.current_period_end.timestamp() + 60)
        _settle(deliveries)
        _tick(deliveries)
        _panel_agrees(panel, order)
        if month == 3:  # failed, recovered within the grace period: never suspended
            assert order.payment_failed_at is not None and order.status == "provisioned"
            assert any("Your payment failed" in m.subject for m in mail.outbox)
            sb.advance(DAY)
            _tick(deliveries)
            _panel_agrees(panel, order)
            assert order.status == "provisioned"
            sb.pay_invoice(_open_invoice(sb, order))
            _settle(deliveries)
        if month == 6:  # failed past the grace period: suspended, then unsuspended on payment
            sb.advance(2 * DAY)
            _tick(deliveries)
            _panel_agrees(panel, order)
            assert order.status == "provisioned"
            sb.advance(1.5 * DAY)
            _settle(deliveries)
            _tick(deliveries)
            _panel_agrees(panel, order)
            assert order.status == "suspended"
            assert order.suspended_reason == "payment overdue past the grace period"
            sb.pay_invoice(_open_invoice(sb, order))
            _settle(deliveries)
        _panel_agrees(panel, order)
        assert order.status == "provisioned"
        assert order.payment_failed_at is None
        renewals += 1
    paid_cycles = [
        i
        for i in sb.invoices.values()
        if i["billing_reason"] == "subscription_cycle" and i["status"] == "paid"
    ]
    assert renewals == len(paid_cycles) == 12

    # Cancelled from the dashboard: runs to the end of the period, then suspended, warned,
    # and deleted after the retention period.
    response = client.post(f"/api/servers/{order.pk}/cancel")
    assert response.status_code == 200, response.content
    _settle(deliveries)
    order.refresh_from_db()
    assert order.cancel_at_period_end and order.status == "provisioned"
    sb.advance_to(order.current_period_end.timestamp() + 60)
    _settle(deliveries)
    _tick(deliveries)
    _panel_agrees(panel, order)
    assert order.status == "suspended" and order.subscription_status == "canceled"
    retention = settings.RETENTION_DAYS * DAY
    warning = settings.TERMINATION_WARNING_DAYS * DAY
    sb.advance(retention - warning + 3600)
    _tick(deliveries)
    _panel_agrees(panel, order)
    assert order.status == "suspended" and order.termination_warned_at is not None
    assert any("will be deleted" in m.subject for m in mail.outbox)
    sb.advance(warning)
    _tick(deliveries)
    _panel_agrees(panel, order)
    assert order.status == "terminated"
    assert order.allocation_id is None
    counts = panel.counters()
    return order, {k: counts.get(k, 0) for k in (SUSPEND, UNSUSPEND, DELETE)}


EXPECTED_PANEL_CALLS = {SUSPEND: 2, UNSUSPEND: 1, DELETE: 1}
EXPECTED_TRANSITIONS = [
    ("pending", "paid"),
    ("paid", "provisioning"),
    ("provisioning", "provisioned"),
    ("provisioned", "suspended"),
    ("suspended", "provisioned"),  # month 6
    ("provisioned", "suspended"),
    ("suspended", "terminated"),  # cancelled
]


def test_a_year_of_a_subscription(catalog, billing_sb, customer, deliveries, settings):
    _, client = customer
    order, calls = _year(catalog, billing_sb, client, deliveries, settings)
    assert calls == EXPECTED_PANEL_CALLS
    transitions = [
        (e.from_status, e.to_status) for e in order.events.exclude(from_status=models_same())
    ]
    assert transitions == EXPECTED_TRANSITIONS


@pytest.mark.parametrize("deliveries", [True], indirect=True)
def test_every_event_twice_and_shuffled_gives_the_same_year(
    catalog, billing_sb, customer, deliveries, settings
):
    _, client = customer
    order, calls = _year(catalog, billing_sb, client, deliveries, settings)
    assert calls == EXPECTED_PANEL_CALLS  # the same panel calls, none repeated
    transitions = [
        (e.from_status, e.to_status) for e in order.events.exclude(from_status=models_same())
    ]
    assert transitions == EXPECTED_TRANSITIONS


def models_same():
    """OrderEvent rows that are notes (no status change) have from == to; exclude them."""
    from django.db.models import F

    return F("to_status")


def _renewal_failed(client, sb, deliveries) -> Order:
    order = _buy_monthly(client, sb, deliveries)
    sb.set_payment_failing(order.stripe_customer_id, True)
    sb.advance_to(order.current_period_end.timestamp() + 60)
    _settle(deliveries)
    return order


def test_panel_down_during_suspension_keeps_the_order_until_the_panel_confirms(
    catalog, billing_sb, customer, deliveries, settings
):
    settings.PROVISION_MAX_ATTEMPTS = 3
    _, client = customer
    order = _renewal_failed(client, billing_sb, deliveries)
    catalog.faults.wings_down = True  # suspend answers 504 and rolls back
    billing_sb.advance(3.5 * DAY)  # past the grace period

    _settle(deliveries)  # the retried payment fails again: its sync tries to suspend

    _panel_agrees(catalog, order)
    assert order.status == "provisioned"  # nothing marked done that is not
    assert catalog.counters()[SUSPEND] == 3  # one sync, its retries bounded
    _tick(deliveries)  # the tick tries again, still down
    _panel_agrees(catalog, order)
    assert order.status == "provisioned"
    assert catalog.counters()[SUSPEND] == 6
    assert Alert.objects.filter(order_id=order.pk, title__contains="could not make").count() == 1

    catalog.faults.wings_down = False
    _tick(deliveries)  # the next tick retries

    _panel_agrees(catalog, order)
    assert order.status == "suspended"


def _one_off_order(client, sb) -> tuple[Order, str]:
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    [charge] = [
        c for c in sb.charges.values() if c["payment_intent"] == order.stripe_payment_intent_id
    ]
    return order, charge["id"]


def test_dispute_suspends_at_once_and_alerts_won_unsuspends(catalog, stripe_sandbox, customer):
    _, client = customer
    order, charge_id = _one_off_order(client, stripe_sandbox)

    dispute = stripe_sandbox.create_dispute(charge_id)
    run_worker()

    _panel_agrees(catalog, order)
    assert order.status == "suspended" and order.suspended_reason == "payment disputed"
    alert = Alert.objects.get(order_id=order.pk)
    assert alert.title == f"Order #{order.pk}: payment disputed"

    stripe_sandbox.close_dispute(dispute["id"], "won")
    run_worker()
    _panel_agrees(catalog, order)
    assert order.status == "provisioned"


def test_full_refund_terminates_partial_does_not(catalog, stripe_sandbox, customer, settings):
    _, client = customer
    order, charge_id = _one_off_order(client, stripe_sandbox)
    sdk = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )

    sdk.v1.refunds.create({"charge": charge_id, "amount": 100})
    run_worker()
    _panel_agrees(catalog, order)
    assert order.status == "provisioned"

    sdk.v1.refunds.create({"charge": charge_id})
    run_worker()
    _panel_agrees(catalog, order)
    assert order.status == "terminated" and order.refunded_at is not None


def test_refund_action_suspend(catalog, stripe_sandbox, customer, settings):
    settings.REFUND_ACTION = "suspend"
    _, client = customer
    order, charge_id = _one_off_order(client, stripe_sandbox)
    stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    ).v1.refunds.create({"charge": charge_id})
    run_worker()
    _panel_agrees(catalog, order)
    assert order.status == "suspended"


def _subscription_updates(sb: StripeSandbox) -> int:
    return sum(1 for m, p in sb.requests if m == "POST" and p.startswith("/v1/subscriptions/"))


def test_upgrade_that_does_not_fit_the_node_is_refused_before_any_charge(
    catalog, billing_sb, customer, deliveries
):
    _, client = customer
    order = _buy_monthly(client, billing_sb, deliveries)
    node = order.allocation.node
    # The node has room for what it runs, and 2 GiB more: not for 4 -> 8 GiB.
    Node.objects.filter(pk=node.pk).update(memory=node.allocated_memory + 4096 + 2048)
    before = _subscription_updates(billing_sb)

    response = client.post(
        f"/api/servers/{order.pk}/plan",
        data=json.dumps({"plan": "minecraft-8gb"}),
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "node_full"
    assert "Nothing was charged" in response.json()["detail"]
    assert _subscription_updates(billing_sb) == before
    order.refresh_from_db()
    assert order.plan.slug == "minecraft-4gb"


def test_upgrade_that_fits_changes_the_subscription_and_the_panel_build(
    catalog, billing_sb, customer, deliveries
):
    _, client = customer
    order = _buy_monthly(client, billing_sb, deliveries)

    response = client.post(
        f"/api/servers/{order.pk}/plan",
        data=json.dumps({"plan": "minecraft-8gb"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    _settle(deliveries)

    order.refresh_from_db()
    assert order.plan.slug == "minecraft-8gb" and not order.build_pending
    server = catalog.state.servers[order.ptero_server_id]
    assert (server["memory"], server["disk"]) == (8192, 40960)
    subscription = billing_sb.subscriptions[order.stripe_subscription_id]
    assert subscription["items"]["data"][0]["price"]["id"] == "price_mc8_month"


def test_reinstall_needs_confirmation_and_variables_send_the_full_map(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    order, _ = _one_off_order(client, stripe_sandbox)
    refused = client.post(
        f"/api/servers/{order.pk}/reinstall", data="{}", content_type="application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "confirmation_required"
    catalog.reset_counters()
    done = client.post(
        f"/api/servers/{order.pk}/reinstall",
        data=json.dumps({"confirm": True}),
        content_type="application/json",
    )
    assert done.status_code == 202
    assert catalog.counters() == {"POST /api/application/servers/{server}/reinstall": 1}

    bad = client.post(
        f"/api/servers/{order.pk}/variables",
        data=json.dumps({"variables": {"MINECRAFT_VERSION": "x" * 30}}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    ok = client.post(
        f"/api/servers/{order.pk}/variables",
        data=json.dumps({"variables": {"MINECRAFT_VERSION": "1.20.4"}}),
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    env = catalog.state.servers[order.ptero_server_id]["env"]
    assert env["MINECRAFT_VERSION"] == "1.20.4"
    assert env["SERVER_JARFILE"] == "server.jar"  # not reset to "" by the startup PATCH
    assert env["BUILD_NUMBER"] == "latest"


def test_another_customer_cannot_act_on_my_server(catalog, stripe_sandbox, customer):
    from testkit import make_customer

    _, client = customer
    order, _ = _one_off_order(client, stripe_sandbox)
    _, mallory = make_customer("mallory@example.com")
    for path, body in (
        ("cancel", {}),
        ("plan", {"plan": "minecraft-4gb"}),
        ("reinstall", {"confirm": True}),
        ("variables", {"variables": {}}),
    ):
        response = mallory.post(
            f"/api/servers/{order.pk}/{path}",
            data=json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code == 404, path
    assert OrderEvent.objects.filter(order=order, actor__startswith="customer").count() == 0
