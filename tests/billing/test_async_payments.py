"""Delayed payment methods end to end: the session completes `unpaid` (no server yet), then
Stripe reports the payment succeeded (server) or failed (order cancelled, port released)."""

from __future__ import annotations

import pytest
from testkit import run_worker

from billing.models import Order, StripeEvent

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"plan": "minecraft-2gb", "region": "us-east", "server_name": "Alice's SMP"}


def _completed_unpaid(alice, sb, catalog) -> Order:
    order = Order.objects.get(pk=alice.post("/api/checkout/session", BODY).json()["order_id"])
    catalog.reset_counters()
    sb.complete_session(order.stripe_session_id, payment_status="unpaid")
    run_worker()
    order.refresh_from_db()
    assert order.status == "pending" and order.allocation_id is not None
    row = StripeEvent.objects.get(type="checkout.session.completed")
    assert (row.status, row.note) == ("processed", "payment_status=unpaid: waiting for the payment")
    assert catalog.counters() == {}
    return order


def test_delayed_payment_that_succeeds_provisions(catalog, stripe_sandbox, alice):
    order = _completed_unpaid(alice, stripe_sandbox, catalog)
    stripe_sandbox.settle_async_payment(order.stripe_session_id, succeed=True)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    row = StripeEvent.objects.get(type="checkout.session.async_payment_succeeded")
    assert (row.status, row.order_id) == ("processed", order.pk)


def test_delayed_payment_that_fails_cancels_and_releases_the_port(catalog, stripe_sandbox, alice):
    order = _completed_unpaid(alice, stripe_sandbox, catalog)
    stripe_sandbox.settle_async_payment(order.stripe_session_id, succeed=False)
    run_worker()
    order.refresh_from_db()
    assert (order.status, order.allocation_id, order.paid_at) == ("cancelled", None, None)
    assert catalog.counters() == {}
    row = StripeEvent.objects.get(type="checkout.session.async_payment_failed")
    assert (row.status, row.order_id, row.note) == (
        "processed",
        order.pk,
        "order cancelled, port released",
    )
