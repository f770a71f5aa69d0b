"""An event rendered at another API version than the one we read is stored, not acted on,
and raises one alert per version naming the fix; sent again at our version (Stripe's resend
after `stripe_setup`), the same event is processed."""

from __future__ import annotations

import json

import pytest
import stripe
from testkit import run_worker

from billing.events import PINNED_API_VERSION
from billing.models import Order, StripeEvent
from core.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)

OLD = "2025-03-31.basil"
BODY = {"plan": "minecraft-2gb", "region": "us-east", "server_name": "Alice's SMP"}


def test_event_at_another_version_is_stored_not_acted_on_one_alert(
    catalog, stripe_sandbox, alice, settings, webhook_poster
):
    sdk = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )
    # The operator's endpoint was made by hand at an old version (same URL, same secret).
    sdk.v1.webhook_endpoints.update(stripe_sandbox.default_endpoint_id, {"disabled": True})
    stripe_sandbox.add_webhook_endpoint(
        "http://testserver/api/stripe/webhook",
        api_version=OLD,
        secret=settings.STRIPE_WEBHOOK_SECRET,
    )
    orders = []
    for name in ("one", "two"):
        response = alice.post("/api/checkout/session", {**BODY, "server_name": name})
        order = Order.objects.get(pk=response.json()["order_id"])
        stripe_sandbox.complete_session(order.stripe_session_id)
        orders.append(order)
    catalog.reset_counters()
    run_worker()

    rows = list(StripeEvent.objects.filter(type="checkout.session.completed").order_by("id"))
    assert [(r.status, r.api_version, r.order_id) for r in rows] == [
        ("wrong_version", OLD, None),
        ("wrong_version", OLD, None),
    ]
    assert rows[0].note == (
        f"API version {OLD} is not {PINNED_API_VERSION}: stored, not acted on "
        "(run `manage.py stripe_setup`)"
    )
    assert [Order.objects.get(pk=o.pk).status for o in orders] == ["pending", "pending"]
    assert catalog.counters() == {}
    [alert] = Alert.objects.all()  # one per version, however many events
    assert alert.title == f"Stripe events arrive at API version {OLD}"
    assert "manage.py stripe_setup" in alert.body and PINNED_API_VERSION in alert.body

    # Resent at our version: the stored event is handled this time.
    payload = dict(rows[0].payload, api_version=PINNED_API_VERSION)
    body = json.dumps(payload)
    assert webhook_poster(body, stripe_sandbox.sign(body)) == 200
    run_worker()
    row = StripeEvent.objects.get(pk=rows[0].pk)
    assert (row.status, row.api_version, row.order_id) == (
        "processed",
        PINNED_API_VERSION,
        orders[0].pk,
    )
    assert Order.objects.get(pk=orders[0].pk).status == "provisioned"
    assert Alert.objects.count() == 1
