"""A paid Checkout Session provisions only when what was paid is what was ordered: mode,
currency, the line item's price and the amount. A mismatch leaves the order unpaid, makes no
server, raises an alert naming both amounts and records why. Only the order's own stored
session can pay it: a cancelled order whose checkout failed (no session) is never paid."""

from __future__ import annotations

import pytest
from billingkit import MONTHLY_PRICE
from testkit import run_worker

from billing.models import Order, OrderEvent, StripeEvent, StripeReference
from catalog.models import Plan
from core.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"plan": "minecraft-2gb", "region": "us-east", "server_name": "Alice's SMP"}


def _start(alice) -> Order:
    response = alice.post("/api/checkout/session", BODY)
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["order_id"])


def _store_as_the_orders(order: Order, session_id: str) -> None:
    """As if this had been the session created for the order: the proof checks pass, so the
    amount checks are what is left to refuse it."""
    Order.objects.filter(pk=order.pk).update(stripe_session_id=session_id)
    StripeReference.objects.filter(order=order, kind="checkout_session").update(
        stripe_id=session_id
    )


def _assert_refused(catalog, order: Order, *, contains: list[str]) -> None:
    run_worker()
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.paid_at, fresh.ptero_server_id) == ("pending", None, None)
    assert fresh.allocation_id == order.allocation_id  # the port stays reserved
    assert catalog.counters() == {}  # no server
    alert = Alert.objects.get(order_id=order.pk)
    assert alert.title == f"Order #{order.pk}: payment does not match the order"
    row = StripeEvent.objects.get(type="checkout.session.completed")
    assert (row.status, row.order_id) == ("ignored", order.pk)
    assert row.note.startswith("not paid: ")
    note = OrderEvent.objects.get(order=order, reason__startswith="not marked paid")
    for text in contains:
        assert text in alert.body, alert.body
        assert text in row.note and text in note.reason


def test_wrong_amount(catalog, stripe_sandbox, alice):
    # The plan says 1 cent, its Stripe price charges the demo's price: a misconfiguration.
    price = Plan.objects.get(slug="minecraft-2gb")
    Plan.objects.filter(pk=price.pk).update(price_cents=1)
    order = _start(alice)
    catalog.reset_counters()
    stripe_sandbox.complete_session(order.stripe_session_id)
    _assert_refused(
        catalog,
        order,
        contains=[
            f"paid {price.price_cents} USD (minor units)",
            "the order costs 1 USD (minor units)",
        ],
    )


def test_wrong_currency(catalog, stripe_sandbox, alice):
    Plan.objects.filter(slug="minecraft-2gb").update(currency="eur")
    order = _start(alice)
    catalog.reset_counters()
    stripe_sandbox.complete_session(order.stripe_session_id)
    _assert_refused(catalog, order, contains=["currency usd, the order is in eur"])


def test_wrong_mode(catalog, stripe_sandbox, alice, sdk):
    stripe_sandbox.add_price(
        MONTHLY_PRICE, unit_amount=500, product_name="Monthly", recurring_interval="month"
    )
    order = _start(alice)
    Plan.objects.filter(pk=order.plan_id).update(price_cents=500)
    Order.objects.filter(pk=order.pk).update(amount_cents=500)
    session = sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "success_url": "https://example.com/ok",
            "line_items": [{"price": MONTHLY_PRICE, "quantity": 1}],
        }
    )
    _store_as_the_orders(order, session.id)
    catalog.reset_counters()
    stripe_sandbox.complete_session(session.id)
    _assert_refused(
        catalog,
        order,
        contains=[
            "mode subscription, the order needs payment",
            f"line items {MONTHLY_PRICE} x1, the order is 1 x {order.stripe_price_id}",
        ],
    )


def test_wrong_price(catalog, stripe_sandbox, alice, sdk):
    order = _start(alice)
    stripe_sandbox.add_price(
        "price_same_amount", unit_amount=order.amount_cents, product_name="Another product"
    )
    session = sdk.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "success_url": "https://example.com/ok",
            "line_items": [{"price": "price_same_amount", "quantity": 1}],
        }
    )
    _store_as_the_orders(order, session.id)
    catalog.reset_counters()
    stripe_sandbox.complete_session(session.id)
    _assert_refused(
        catalog,
        order,
        contains=[f"line items price_same_amount x1, the order is 1 x {order.stripe_price_id}"],
    )


def test_cancelled_order_without_a_session_is_never_paid(
    catalog, stripe_sandbox, alice, sdk, settings
):
    base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable: checkout fails
    assert alice.post("/api/checkout/session", BODY).status_code == 503
    settings.STRIPE_API_BASE = base
    order = Order.objects.get()
    assert (order.status, order.stripe_session_id) == ("cancelled", None)
    session = sdk.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "success_url": "https://example.com/ok",
            "line_items": [{"price": order.stripe_price_id, "quantity": 1}],
            "client_reference_id": str(order.pk),
            "metadata": {"order_id": str(order.pk)},
        }
    )
    catalog.reset_counters()
    stripe_sandbox.complete_session(session.id)
    run_worker()
    order.refresh_from_db()
    assert (order.status, order.paid_at, order.stripe_session_id) == ("cancelled", None, None)
    assert catalog.counters() == {}
    row = StripeEvent.objects.get(type="checkout.session.completed")
    assert (row.status, row.order_id) == ("ignored", None)
    assert row.note == (
        f"Checkout Session {session.id} is not one we created (its metadata names order {order.pk})"
    )


def test_matching_session_pays_and_provisions(catalog, stripe_sandbox, alice):
    order = _start(alice)
    catalog.reset_counters()
    stripe_sandbox.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert Alert.objects.count() == 0
    row = StripeEvent.objects.get(type="checkout.session.completed")
    assert (row.status, row.order_id, row.note) == (
        "processed",
        order.pk,
        "order paid, provisioning queued",
    )
