"""Refunds and disputes reach the right order through our own stored Stripe ids, never
through metadata: renewal charges carry no metadata (Stripe does not copy subscription
metadata onto invoice PaymentIntents or Charges), and one customer has three subscriptions.
Real stripe SDK against the Stripe sandbox, real webhook view, real worker, panel sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from billingkit import buy
from testkit import run_worker

from billing.models import Order, StripeEvent, StripeReference
from sandbox.stripe import StripeSandbox

pytestmark = pytest.mark.django_db(transaction=True)

DELETE = "DELETE /api/application/servers/{server}"
SUSPEND = "POST /api/application/servers/{server}/suspend"
UNSUSPEND = "POST /api/application/servers/{server}/unsuspend"


def _renewal_charge(sb: StripeSandbox, order: Order) -> dict[str, Any]:
    """The charge of the order's renewal invoice (billing_reason subscription_cycle)."""
    [invoice] = [
        i
        for i in sb.invoices.values()
        if i["billing_reason"] == "subscription_cycle"
        and i["parent"]["subscription_details"]["subscription"] == order.stripe_subscription_id
    ]
    [payment] = sb.payments_of_invoice(invoice["id"])
    pi = payment["payment"]["payment_intent"]
    [charge] = [c for c in sb.charges.values() if c["payment_intent"] == pi]
    return charge


def _lookups(sb: StripeSandbox) -> int:
    return sum(1 for m, p in sb.requests if m == "GET" and p == "/v1/invoice_payments")


def _three_renewed(alice, sb: StripeSandbox) -> list[Order]:
    orders = [buy(alice, sb, plan="minecraft-4gb", server_name=f"smp {n}") for n in range(3)]
    # One Stripe customer (a returning customer keeps theirs), three subscriptions.
    assert len({o.stripe_customer_id for o in orders}) == 1
    assert len({o.stripe_subscription_id for o in orders}) == 3
    sb.advance_to(max(o.current_period_end.timestamp() for o in orders) + 60)
    run_worker()
    for order in orders:
        order.refresh_from_db()
        assert order.status == "provisioned"
    return orders


def test_refund_of_a_renewal_charge_acts_on_its_own_order(
    catalog, stripe_sandbox, monthly, alice, sdk
):
    orders = _three_renewed(alice, stripe_sandbox)
    target = orders[1]
    charge = _renewal_charge(stripe_sandbox, target)
    assert charge["metadata"] == {}  # nothing but ids leads to the order
    assert charge["customer"] == target.stripe_customer_id  # shared by all three
    catalog.reset_counters()
    before = _lookups(stripe_sandbox)

    sdk.v1.refunds.create({"charge": charge["id"]})
    run_worker()

    assert _lookups(stripe_sandbox) == before + 1  # one Stripe call for the event
    row = StripeEvent.objects.get(type="charge.refunded", object_id=charge["id"])
    assert (row.status, row.order_id) == ("processed", target.pk)
    statuses = [Order.objects.get(pk=o.pk).status for o in orders]
    assert statuses == ["provisioned", "terminated", "provisioned"]
    assert catalog.counters() == {DELETE: 1}
    # Cached: the charge and its PaymentIntent now prove the order without a call.
    refs = StripeReference.objects.filter(order=target)
    assert {r.kind for r in refs if r.stripe_id in (charge["id"], charge["payment_intent"])} == {
        "charge",
        "payment_intent",
    }


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_dispute_of_a_renewal_charge_acts_on_its_own_order(
    catalog, stripe_sandbox, monthly, alice, outcome
):
    orders = _three_renewed(alice, stripe_sandbox)
    target = orders[2]
    charge = _renewal_charge(stripe_sandbox, target)
    catalog.reset_counters()
    before = _lookups(stripe_sandbox)

    dispute = stripe_sandbox.create_dispute(charge["id"])
    run_worker()

    assert _lookups(stripe_sandbox) == before + 1
    assert [Order.objects.get(pk=o.pk).status for o in orders] == [
        "provisioned",
        "provisioned",
        "suspended",
    ]
    row = StripeEvent.objects.get(type="charge.dispute.created")
    assert (row.status, row.order_id) == ("processed", target.pk)
    assert catalog.counters() == {SUSPEND: 1}

    stripe_sandbox.close_dispute(dispute["id"], outcome)
    run_worker()

    assert _lookups(stripe_sandbox) == before + 1  # the closing event needed no call
    closed = StripeEvent.objects.get(type="charge.dispute.closed")
    assert (closed.status, closed.order_id) == ("processed", target.pk)
    expected = "provisioned" if outcome == "won" else "terminated"
    assert [Order.objects.get(pk=o.pk).status for o in orders] == [
        "provisioned",
        "provisioned",
        expected,
    ]
    assert catalog.counters() == {SUSPEND: 1, (UNSUSPEND if outcome == "won" else DELETE): 1}


def test_refund_of_a_one_off_charge_acts_on_its_own_order(catalog, stripe_sandbox, alice, sdk):
    orders = [buy(alice, stripe_sandbox, server_name=f"once {n}") for n in range(3)]
    target = orders[0]
    [charge] = [
        c
        for c in stripe_sandbox.charges.values()
        if c["payment_intent"] == target.stripe_payment_intent_id
    ]
    catalog.reset_counters()
    before = _lookups(stripe_sandbox)

    sdk.v1.refunds.create({"charge": charge["id"]})
    run_worker()

    assert _lookups(stripe_sandbox) == before  # the PaymentIntent was stored when paid
    assert [Order.objects.get(pk=o.pk).status for o in orders] == [
        "terminated",
        "provisioned",
        "provisioned",
    ]
    assert catalog.counters() == {DELETE: 1}
