"""Checkout features done by Stripe, each behind a setting: promotion codes (the discount is
Stripe's, the session still pays for the order), automatic tax (with the billing address it
needs, also for a returning customer) and e-mailed receipts."""

from __future__ import annotations

import pytest
from billingkit import buy
from testkit import run_worker

from billing.models import Order, StripeEvent
from core.models import Alert
from sandbox.stripe import SandboxError

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"plan": "minecraft-2gb", "region": "us-east", "server_name": "Alice's SMP"}
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


def _start(alice) -> Order:
    response = alice.post("/api/checkout/session", BODY)
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["order_id"])


def test_promotion_code_discount_still_pays_for_the_order(
    catalog, stripe_sandbox, alice, sdk, settings
):
    settings.STRIPE_ALLOW_PROMOTION_CODES = True
    coupon = sdk.v1.coupons.create({"percent_off": 25, "duration": "once"})
    sdk.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "SPRING25"}
    )
    order = _start(alice)
    assert stripe_sandbox.sessions[order.stripe_session_id]["allow_promotion_codes"] is True

    stripe_sandbox.complete_session(order.stripe_session_id, promotion_code="SPRING25")
    run_worker()

    session = stripe_sandbox.sessions[order.stripe_session_id]
    assert session["amount_subtotal"] == order.amount_cents
    assert session["amount_total"] == order.amount_cents * 3 // 4
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert Alert.objects.count() == 0


def test_without_the_setting_there_is_no_promotion_code_field(catalog, stripe_sandbox, alice):
    order = _start(alice)
    assert stripe_sandbox.sessions[order.stripe_session_id]["allow_promotion_codes"] is None
    with pytest.raises(SandboxError):
        stripe_sandbox.complete_session(order.stripe_session_id, promotion_code="SPRING25")
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_automatic_tax_for_a_new_and_a_returning_customer(
    catalog, stripe_sandbox, monthly, alice, settings
):
    settings.STRIPE_AUTOMATIC_TAX = True
    orders = []
    for name in ("first", "second"):
        response = alice.post(
            "/api/checkout/session", {**BODY, "plan": "minecraft-4gb", "server_name": name}
        )
        assert response.status_code == 201, response.content
        order = Order.objects.get(pk=response.json()["order_id"])
        session = stripe_sandbox.sessions[order.stripe_session_id]
        assert session["automatic_tax"]["enabled"] is True
        assert session["billing_address_collection"] == "required"
        stripe_sandbox.complete_session(order.stripe_session_id, address=ADDRESS)
        run_worker()
        session = stripe_sandbox.sessions[order.stripe_session_id]
        assert session["amount_subtotal"] == 1500
        assert session["total_details"]["amount_tax"] == 150  # the sandbox's 10 %
        assert session["amount_total"] == 1650
        order.refresh_from_db()
        assert order.status == "provisioned", order.error_message
        orders.append(order)
    # The second checkout named the customer the first one created.
    assert stripe_sandbox.sessions[orders[1].stripe_session_id]["customer"] == (
        orders[0].stripe_customer_id
    )
    assert Alert.objects.count() == 0


def test_tax_without_the_setting_is_not_served(catalog, stripe_sandbox, alice, sdk):
    # A session the order stored, but taxed (as if the setting had been on when it was made).
    order = _start(alice)
    taxed = sdk.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "success_url": "https://example.com/ok",
            "line_items": [{"price": order.stripe_price_id, "quantity": 1}],
            "automatic_tax": {"enabled": True},
            "billing_address_collection": "required",
        }
    )
    Order.objects.filter(pk=order.pk).update(stripe_session_id=taxed.id)
    order.stripe_refs.filter(kind="checkout_session").update(stripe_id=taxed.id)
    stripe_sandbox.complete_session(taxed.id, address=ADDRESS)
    run_worker()
    assert Order.objects.get(pk=order.pk).status == "pending"
    row = StripeEvent.objects.get(type="checkout.session.completed")
    assert "but automatic tax is off" in row.note


def test_receipt_is_emailed_to_the_customer(catalog, stripe_sandbox, alice):
    order = buy(alice, stripe_sandbox)
    [charge] = [
        c
        for c in stripe_sandbox.charges.values()
        if c["payment_intent"] == order.stripe_payment_intent_id
    ]
    assert charge["receipt_email"] == alice.user.email
    receipt = stripe_sandbox.receipt_for(charge["id"])
    assert (receipt["to"], receipt["amount"]) == (alice.user.email, order.amount_cents)


def test_no_receipt_when_turned_off(catalog, stripe_sandbox, alice, settings):
    settings.STRIPE_RECEIPT_EMAILS = False
    order = buy(alice, stripe_sandbox)
    [charge] = [
        c
        for c in stripe_sandbox.charges.values()
        if c["payment_intent"] == order.stripe_payment_intent_id
    ]
    assert charge["receipt_email"] is None
    with pytest.raises(SandboxError):
        stripe_sandbox.receipt_for(charge["id"])
