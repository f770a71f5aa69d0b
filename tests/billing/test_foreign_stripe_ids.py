"""Events that name our orders in their metadata but carry Stripe objects we never created
or proved ours (another shop on the same account, a Payment Link, a hand-made charge) change
nothing: each is recorded as ignored with the reason, and the panel is never called. The
foreign party uses the real stripe SDK on the same sandbox account, even our customer."""

from __future__ import annotations

from typing import Any

import pytest
from billingkit import MONTHLY_PRICE, buy, order_snapshot
from testkit import run_worker

from billing.events import HANDLED_EVENTS
from billing.models import Order, StripeEvent
from catalog.models import Plan
from core.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)


def _foreign_session(sdk, order: Order, **params: Any) -> str:
    ref = str(order.pk)
    session = sdk.v1.checkout.sessions.create(
        {
            "success_url": "https://other-shop.example/ok",
            "client_reference_id": ref,
            "metadata": {"order_id": ref},
            **params,
        }
    )
    return session.id


def _charge_of(sb, payment_intent: str) -> str:
    [charge] = [c["id"] for c in sb.charges.values() if c["payment_intent"] == payment_intent]
    return charge


def test_foreign_ids_naming_our_orders_change_nothing(catalog, stripe_sandbox, monthly, alice, sdk):
    sb = stripe_sandbox
    sub_order = buy(alice, sb, plan="minecraft-4gb")
    one_off = buy(alice, sb)
    pending_id = alice.post(
        "/api/checkout/session",
        {"plan": "minecraft-2gb", "region": "us-east", "server_name": "later"},
    ).json()["order_id"]
    pending = Order.objects.get(pk=pending_id)
    orders = [sub_order, one_off, pending]
    before = {o.pk: order_snapshot(o) for o in orders}
    seen = set(StripeEvent.objects.values_list("event_id", flat=True))
    alerts = Alert.objects.count()
    catalog.reset_counters()
    one_off_price = Plan.objects.get(slug="minecraft-2gb").stripe_price_id

    # A one-off payment naming the one-off order: completed, refunded.
    refunded = _foreign_session(
        sdk,
        one_off,
        mode="payment",
        line_items=[{"price": one_off_price, "quantity": 1}],
        payment_intent_data={"metadata": {"order_id": str(one_off.pk)}},
        customer_email=alice.user.email,
    )
    sb.complete_session(refunded)
    sdk.v1.refunds.create({"charge": _charge_of(sb, sb.sessions[refunded]["payment_intent"])})
    # Another one, disputed and lost.
    disputed = _foreign_session(
        sdk,
        one_off,
        mode="payment",
        line_items=[{"price": one_off_price, "quantity": 1}],
        payment_intent_data={"metadata": {"order_id": str(one_off.pk)}},
    )
    sb.complete_session(disputed)
    dispute = sb.create_dispute(_charge_of(sb, sb.sessions[disputed]["payment_intent"]))
    sb.close_dispute(dispute["id"], "lost")
    # A subscription naming the subscription order, for OUR customer: created, paid,
    # updated, deleted, and its first charge refunded.
    sub_session = _foreign_session(
        sdk,
        sub_order,
        mode="subscription",
        line_items=[{"price": MONTHLY_PRICE, "quantity": 1}],
        subscription_data={"metadata": {"order_id": str(sub_order.pk)}},
        customer=sub_order.stripe_customer_id,
    )
    sb.complete_session(sub_session)
    foreign_sub = sb.sessions[sub_session]["subscription"]
    sdk.v1.subscriptions.update(foreign_sub, {"cancel_at_period_end": True})
    [first_invoice] = [
        i
        for i in sb.invoices.values()
        if i["parent"]["subscription_details"]["subscription"] == foreign_sub
    ]
    [payment] = sb.payments_of_invoice(first_invoice["id"])
    sdk.v1.refunds.create({"charge": _charge_of(sb, payment["payment"]["payment_intent"])})
    sdk.v1.subscriptions.cancel(foreign_sub)
    # A session naming the pending order, expired: the order keeps its port.
    expired = _foreign_session(
        sdk,
        pending,
        mode="payment",
        line_items=[{"price": one_off_price, "quantity": 1}],
    )
    sdk.v1.checkout.sessions.expire(expired)
    run_worker()

    assert catalog.counters() == {}  # no panel call at all
    assert {o.pk: order_snapshot(o) for o in orders} == before
    assert Alert.objects.count() == alerts
    rows = StripeEvent.objects.exclude(event_id__in=seen).filter(type__in=HANDLED_EVENTS)
    by_type: dict[str, list[str]] = {}
    for row in rows:
        assert (row.status, row.order_id) == ("ignored", None), (row.type, row.note)
        by_type.setdefault(row.type, []).append(row.note)
    assert sorted(by_type) == sorted(
        [
            "checkout.session.completed",
            "checkout.session.expired",
            "charge.refunded",
            "charge.dispute.created",
            "charge.dispute.closed",
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "invoice.paid",
        ]
    )
    assert sorted(by_type["checkout.session.completed"]) == sorted(
        [
            f"Checkout Session {refunded} is not one we created "
            f"(its metadata names order {one_off.pk})",
            f"Checkout Session {disputed} is not one we created "
            f"(its metadata names order {one_off.pk})",
            f"Checkout Session {sub_session} is not one we created "
            f"(its metadata names order {sub_order.pk})",
        ]
    )
    assert by_type["checkout.session.expired"] == [
        f"Checkout Session {expired} is not one we created (its metadata names order {pending.pk})"
    ]
    for note in by_type["customer.subscription.updated"] + by_type["customer.subscription.deleted"]:
        assert note == (
            f"subscription {foreign_sub} is not one of ours (its metadata names order "
            f"{sub_order.pk})"
        )
    assert by_type["invoice.paid"] == [
        f"invoice {first_invoice['id']}: subscription {foreign_sub} is not one of ours "
        f"(its metadata names order {sub_order.pk})"
    ]
    for note in by_type["charge.refunded"] + by_type["charge.dispute.created"]:
        assert "is not tied to any of our orders" in note, note


def test_metadata_naming_another_order_is_ignored_and_alerted(
    catalog, stripe_sandbox, monthly, alice, sdk
):
    order = buy(alice, stripe_sandbox, plan="minecraft-4gb")
    other = buy(alice, stripe_sandbox, server_name="other")
    before = {o.pk: order_snapshot(o) for o in (order, other)}
    catalog.reset_counters()
    sub = order.stripe_subscription_id
    for _ in range(2):  # edited twice in the Dashboard: two events, one alert
        sdk.v1.subscriptions.update(sub, {"metadata": {"order_id": str(other.pk)}})
        sdk.v1.subscriptions.update(sub, {"cancel_at_period_end": True})
        sdk.v1.subscriptions.update(sub, {"cancel_at_period_end": False})
    run_worker()

    assert catalog.counters() == {}
    assert {o.pk: order_snapshot(o) for o in (order, other)} == before
    notes = set(
        StripeEvent.objects.filter(type="customer.subscription.updated").values_list(
            "status", "order_id", "note"
        )
    )
    assert notes == {
        (
            "ignored",
            None,
            f"subscription {sub} is order #{order.pk}'s but its metadata names order {other.pk}",
        )
    }
    [alert] = Alert.objects.filter(order_id=order.pk)
    assert alert.title == f"Order #{order.pk}: subscription {sub} names another order"
