"""Subscription lifecycle: checkout, renewals on the test clock, dunning, plan changes,
cancellation, refunds and disputes — through the real stripe-python 16 SDK."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from sandbox.stripe import StripeSandbox

from .conftest import API_KEY, SECRET, SUCCESS_URL, Recorder, make_client

SHAPES = Path(__file__).parent / "shapes"
DAY = 86400
# 31 Jan 2027 12:00 UTC: monthly periods exercise end-of-month clamping. Event timestamps in
# the future still verify (the SDK's tolerance only rejects old signatures).
T0 = int(dt.datetime(2027, 1, 31, 12, tzinfo=dt.UTC).timestamp())
PRICES = [
    {
        "id": "price_valheim_monthly",
        "unit_amount": 900,
        "currency": "eur",
        "product_name": "Valheim 2 GB",
        "recurring": {"interval": "month"},
    },
    {
        "id": "price_valheim_4gb_monthly",
        "unit_amount": 1500,
        "currency": "eur",
        "product_name": "Valheim 4 GB",
        "recurring": {"interval": "month"},
    },
    {"id": "price_setup_eur", "unit_amount": 500, "currency": "eur", "product_name": "Setup"},
    {
        "id": "price_yearly",
        "unit_amount": 9000,
        "currency": "eur",
        "product_name": "Valheim 2 GB yearly",
        "recurring": {"interval": "year"},
    },
    {"id": "price_mc_4gb", "unit_amount": 1500, "currency": "usd", "product_name": "MC 4 GB"},
]
SUB_META = {"order_id": "42", "server_uuid": "srv-7"}
CHECKOUT_EVENTS = [
    "customer.created",
    "customer.subscription.created",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "checkout.session.completed",
]
RENEWAL_OK = [
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "customer.subscription.updated",
]


def ts(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp())


def keys_of(name: str) -> set[str]:
    return set(json.loads((SHAPES / f"{name}.json").read_text()))


def verified(recorder: Recorder) -> list[stripe.Event]:
    """Every delivered body, checked with the SDK's own verifier."""
    return [
        stripe.Webhook.construct_event(body, header, SECRET, tolerance=300)
        for body, header in recorder.calls
    ]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


@pytest.fixture
def sb(recorder: Recorder):
    sandbox = StripeSandbox(
        api_key=API_KEY, webhook_secret=SECRET, deliver=recorder, prices=PRICES, clock=lambda: T0
    )
    sandbox.serve()
    yield sandbox
    sandbox.shutdown()
    # every event the sandbox delivered verifies with stripe.Webhook.construct_event
    assert len(verified(recorder)) == len(recorder.calls)


@pytest.fixture
def client(sb: StripeSandbox) -> stripe.StripeClient:
    assert sb.url
    return make_client(sb.url)


def subscribe(
    sb: StripeSandbox,
    client: stripe.StripeClient,
    *,
    line_items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    s = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": line_items or [{"price": "price_valheim_monthly", "quantity": 1}],
            "success_url": SUCCESS_URL,
            "customer_email": "alex@example.com",
            "metadata": {"order_id": "42"},
            "subscription_data": {"metadata": SUB_META},
        }
    )
    event = sb.complete_session(s.id)
    return event["data"]["object"]


def test_subscription_checkout_creates_objects_and_events(sb, client, recorder):
    session = subscribe(sb, client)
    delivered = verified(recorder)
    assert [e.type for e in delivered] == CHECKOUT_EVENTS
    assert [e["type"] for e in sb.events] == CHECKOUT_EVENTS
    assert {e.created for e in delivered} == {T0}

    sub_id, inv_id, cus_id = session["subscription"], session["invoice"], session["customer"]
    assert sub_id.startswith("sub_1") and inv_id.startswith("in_1") and cus_id.startswith("cus_")
    assert session["payment_intent"] is None
    assert session["payment_status"] == "paid"

    cus = client.v1.customers.retrieve(cus_id)
    assert cus.email == "alex@example.com"
    assert set(cus.to_dict()) >= keys_of("customer")

    sub = client.v1.subscriptions.retrieve(sub_id, {"expand": ["items.data.price"]})
    assert isinstance(sub, stripe.Subscription)
    assert sub.status == "active"
    assert sub.customer == cus_id
    assert sub.metadata.to_dict() == SUB_META
    assert sub.cancel_at_period_end is False
    assert sub.latest_invoice == inv_id
    assert sub.currency == "eur"
    assert sub.start_date == sub.billing_cycle_anchor == T0
    raw_sub = sub.to_dict()
    assert "current_period_start" not in raw_sub and "current_period_end" not in raw_sub
    assert set(raw_sub) == keys_of("subscription")
    (item,) = sub["items"].data
    assert item.price.id == "price_valheim_monthly"
    assert item.plan.interval == "month"
    assert item.quantity == 1
    assert (item.current_period_start, item.current_period_end) == (T0, ts(2027, 2, 28, 12))
    assert set(item.to_dict()) == keys_of("subscription_item")

    inv = client.v1.invoices.retrieve(inv_id)
    raw = inv.to_dict()
    assert "subscription" not in raw and "paid" not in raw
    # payments is includable: absent unless expanded (stripe/_invoice.py: Optional payments)
    assert set(raw) == keys_of("invoice") - {"subscription"}
    inv = client.v1.invoices.retrieve(inv_id, {"expand": ["payments"]})
    assert set(inv.to_dict()) == keys_of("invoice") - {"subscription"} | {"payments"}
    assert inv.status == "paid"
    assert inv.billing_reason == "subscription_create"
    assert (inv.amount_due, inv.amount_paid, inv.amount_remaining, inv.total) == (900, 900, 0, 900)
    assert inv.attempt_count == 1 and inv.next_payment_attempt is None
    assert inv.parent.type == "subscription_details"
    assert inv.parent.subscription_details.subscription == sub_id
    assert inv.parent.subscription_details.metadata.to_dict() == SUB_META
    assert inv.number == f"{cus.invoice_prefix}-0001"
    (line,) = inv.lines.data
    assert (line.period.start, line.period.end) == (T0, ts(2027, 2, 28, 12))
    assert line.parent.subscription_item_details.subscription_item == item.id
    assert line.amount == 900
    assert line.description == "1 × Valheim 2 GB (at €9.00 / month)"  # noqa: RUF001
    (payment,) = inv.payments.data
    assert payment.status == "paid"
    pi = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert (pi.status, pi.amount, pi.customer) == ("succeeded", 900, cus_id)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.payment_intent, charge.customer, charge.status) == (pi.id, cus_id, "succeeded")
    # Stripe does not copy subscription metadata onto the invoice's PaymentIntent or Charge
    assert pi.metadata.to_dict() == {} and charge.metadata.to_dict() == {}

    paid = next(e for e in delivered if e.type == "invoice.paid")
    assert isinstance(paid.data.object, stripe.Invoice)
    assert paid.data.object.parent.subscription_details.subscription == sub_id
    assert "subscription" not in paid.data.object.to_dict()
    created = next(e for e in delivered if e.type == "customer.subscription.created")
    assert created.data.object["items"].data[0].current_period_end == ts(2027, 2, 28, 12)

    listed = client.v1.subscriptions.list({"customer": cus_id})
    assert [s.id for s in listed.data] == [sub_id]
    assert client.v1.subscriptions.list({"customer": "cus_other"}).data == []


def test_checkout_with_setup_fee_and_quiet_noise(sb, client, recorder):
    sb.set_knobs({"emit_noise_events": False})
    session = subscribe(
        sb,
        client,
        line_items=[
            {"price": "price_valheim_monthly", "quantity": 2},
            {"price": "price_setup_eur", "quantity": 1},
        ],
    )
    assert [e.type for e in verified(recorder)] == ["invoice.paid", "checkout.session.completed"]
    inv = client.v1.invoices.retrieve(session["invoice"])
    assert [(line.amount, line.parent.type) for line in inv.lines.data] == [
        (1800, "subscription_item_details"),
        (500, "invoice_item_details"),
    ]
    assert inv.amount_paid == 2300
    sub = client.v1.subscriptions.retrieve(session["subscription"])
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [("price_valheim_monthly", 2)]
    # the setup fee is billed once: the first renewal only has the plan
    events = sb.advance(29 * DAY)
    assert types(events) == ["invoice.paid", "customer.subscription.updated"]
    assert events[0]["data"]["object"]["amount_paid"] == 1800


def test_a_year_of_renewals(sb, client, recorder):
    session = subscribe(sb, client)
    recorder.calls.clear()
    events = sb.advance(365 * DAY)
    assert types(events) == RENEWAL_OK * 12
    assert [e.type for e in verified(recorder)] == RENEWAL_OK * 12
    assert sb.now() == T0 + 365 * DAY

    invoices = client.v1.invoices.list({"subscription": session["subscription"], "limit": 100})
    invs = sorted(invoices.data, key=lambda i: i.period_start)
    assert [i.billing_reason for i in invs] == ["subscription_create"] + ["subscription_cycle"] * 12
    assert all(i.status == "paid" and i.amount_paid == 900 for i in invs)
    ends = [i.period_end for i in invs]
    assert ends == [
        ts(2027, 2, 28, 12),
        ts(2027, 3, 31, 12),
        ts(2027, 4, 30, 12),
        ts(2027, 5, 31, 12),
        ts(2027, 6, 30, 12),
        ts(2027, 7, 31, 12),
        ts(2027, 8, 31, 12),
        ts(2027, 9, 30, 12),
        ts(2027, 10, 31, 12),
        ts(2027, 11, 30, 12),
        ts(2027, 12, 31, 12),
        ts(2028, 1, 31, 12),
        ts(2028, 2, 29, 12),
    ]
    assert [i.period_start for i in invs] == [T0, *ends[:-1]]  # contiguous
    assert [i.lines.data[0].period.end for i in invs] == ends
    # each renewal happened exactly at the old period end
    assert [i.created for i in invs[1:]] == ends[:-1]
    assert len({i.number for i in invs}) == 13

    sub = client.v1.subscriptions.retrieve(session["subscription"])
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (ends[-2], ends[-1])
    assert sub.latest_invoice == invs[-1].id
    first_update = events[4]
    assert first_update["data"]["previous_attributes"]["items"]["data"][0][
        "current_period_end"
    ] == ts(2027, 2, 28, 12)
    assert first_update["data"]["previous_attributes"]["latest_invoice"] == session["invoice"]
    assert first_update["data"]["object"]["items"]["data"][0]["current_period_end"] == ends[1]


def test_failed_renewal_retries_on_schedule_then_recovers(sb, client, recorder):
    session = subscribe(sb, client)
    end = ts(2027, 2, 28, 12)
    sb.set_payment_failing(session["customer"], True)

    events = sb.advance(end - T0)
    assert types(events) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    failed = events[2]["data"]["object"]
    assert (failed["status"], failed["attempt_count"]) == ("open", 1)
    assert failed["next_payment_attempt"] == end + 3 * DAY
    assert failed["parent"]["subscription_details"]["subscription"] == session["subscription"]
    updated = events[3]["data"]
    assert updated["object"]["status"] == "past_due"
    assert updated["previous_attributes"] == {
        "status": "active",
        "latest_invoice": session["invoice"],
    }
    assert updated["object"]["items"]["data"][0]["current_period_end"] == end  # not advanced

    assert sb.advance(3 * DAY - 1) == []
    events = sb.advance(1)
    assert types(events) == ["invoice.payment_failed"]
    assert events[0]["created"] == end + 3 * DAY
    assert events[0]["data"]["object"]["attempt_count"] == 2
    assert events[0]["data"]["object"]["next_payment_attempt"] == end + 5 * DAY
    events = sb.advance(2 * DAY)
    assert [(e["type"], e["data"]["object"]["attempt_count"]) for e in events] == [
        ("invoice.payment_failed", 3)
    ]
    assert events[0]["data"]["object"]["next_payment_attempt"] == end + 7 * DAY

    inv = client.v1.invoices.retrieve(failed["id"], {"expand": ["payments"]})
    pi = client.v1.payment_intents.retrieve(inv.payments.data[0].payment.payment_intent)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "card_declined"
    declined = [c for c in sb.charges.values() if c["status"] == "failed"]
    assert [c["failure_code"] for c in declined] == ["card_declined"] * 3
    # the product asks Stripe to retry while the card still fails: 402 CardError
    with pytest.raises(stripe.CardError) as err:
        client.v1.invoices.pay(failed["id"])
    assert err.value.code == "card_declined"
    assert client.v1.invoices.retrieve(failed["id"]).attempt_count == 4

    recorder.calls.clear()
    events = sb.pay_invoice(failed["id"])
    assert types(events) == [
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    assert [e.type for e in verified(recorder)] == types(events)
    update = events[2]["data"]
    assert update["object"]["status"] == "active"
    assert update["previous_attributes"]["status"] == "past_due"
    item = update["object"]["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (end, ts(2027, 3, 31, 12))
    assert client.v1.invoices.retrieve(failed["id"]).status == "paid"
    assert sb.failing_customers == {}
    # no retry left over; the next renewal happens on time and succeeds
    events = sb.advance(ts(2027, 3, 31, 12) - sb.now())
    assert types(events) == RENEWAL_OK


@pytest.mark.parametrize(
    ("knob", "last_events", "status"),
    [
        ("cancel", ["invoice.payment_failed", "customer.subscription.deleted"], "canceled"),
        ("unpaid", ["invoice.payment_failed", "customer.subscription.updated"], "unpaid"),
        ("past_due", ["invoice.payment_failed"], "past_due"),
    ],
)
def test_final_failure_follows_after_final_failure(sb, client, knob, last_events, status):
    sb.set_knobs({"after_final_failure": knob, "retry_schedule_days": [1, 2]})
    session = subscribe(sb, client)
    end = ts(2027, 2, 28, 12)
    sb.set_payment_failing(session["customer"], True)
    events = sb.advance(end - T0 + 2 * DAY)
    assert types(events) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "customer.subscription.updated",
        "invoice.payment_failed",
        *last_events,
    ]
    assert [e["created"] for e in events[-len(last_events) :]] == [end + 2 * DAY] * len(last_events)
    final_invoice = events[len(events) - len(last_events)]["data"]["object"]
    assert (final_invoice["attempt_count"], final_invoice["next_payment_attempt"]) == (3, None)
    sub = client.v1.subscriptions.retrieve(session["subscription"])
    assert sub.status == status
    if knob == "cancel":
        assert (sub.ended_at, sub.cancellation_details.reason) == (end + 2 * DAY, "payment_failed")
    if knob == "unpaid":
        assert events[-1]["data"]["previous_attributes"] == {"status": "past_due"}
    # nothing more happens on its own: no retries, no renewals while the invoice is open
    assert sb.advance(60 * DAY) == []


def test_cancel_at_period_end_and_cancel_now(sb, client, recorder):
    session = subscribe(sb, client)
    sub_id = session["subscription"]
    end = ts(2027, 2, 28, 12)
    sb.advance(10 * DAY)
    recorder.calls.clear()
    sub = client.v1.subscriptions.update(sub_id, {"cancel_at_period_end": True})
    assert (sub.cancel_at_period_end, sub.cancel_at, sub.status) == (True, end, "active")
    (ev,) = verified(recorder)
    assert ev.type == "customer.subscription.updated"
    assert ev.request.id is not None
    assert ev.data.previous_attributes.to_dict() == {
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
    }
    assert sb.advance(end - sb.now() - 1) == []
    events = sb.advance(1)
    assert types(events) == ["customer.subscription.deleted"]
    gone = events[0]["data"]["object"]
    assert (gone["status"], gone["ended_at"], gone["canceled_at"]) == (
        "canceled",
        end,
        T0 + 10 * DAY,
    )
    assert len(sb.invoices) == 1  # no invoice at the end
    assert sb.advance(90 * DAY) == []
    assert client.v1.subscriptions.list({"customer": session["customer"]}).data == []
    assert [s.id for s in client.v1.subscriptions.list({"status": "all"}).data] == [sub_id]
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.update(sub_id, {"cancel_at_period_end": False})
    assert "canceled subscription" in str(err.value)

    other = subscribe(sb, client)
    recorder.calls.clear()
    canceled = client.v1.subscriptions.cancel(other["subscription"])
    assert canceled.status == "canceled" and canceled.ended_at == sb.now()
    assert [e.type for e in verified(recorder)] == ["customer.subscription.deleted"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(other["subscription"])
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.retrieve("sub_nope")
    assert (err.value.http_status, err.value.code) == (404, "resource_missing")


def test_item_price_change_records_prorations(sb, client, recorder):
    session = subscribe(sb, client)
    sub_id = session["subscription"]
    sub = client.v1.subscriptions.retrieve(sub_id)
    item_id = sub["items"].data[0].id
    period = ts(2027, 2, 28, 12) - T0  # 28 days
    sb.advance(period // 2)  # halfway through the period
    recorder.calls.clear()
    updated = client.v1.subscriptions.update(
        sub_id,
        {
            "items": [{"id": item_id, "price": "price_valheim_4gb_monthly"}],
            "proration_behavior": "create_prorations",
            "metadata": {"plan": "valheim-4gb", "server_uuid": ""},
        },
    )
    item = updated["items"].data[0]
    assert (item.id, item.price.id, item.plan.amount) == (
        item_id,
        "price_valheim_4gb_monthly",
        1500,
    )
    assert updated.metadata.to_dict() == {"order_id": "42", "plan": "valheim-4gb"}
    (ev,) = verified(recorder)
    assert ev.type == "customer.subscription.updated"
    prev = ev.data.previous_attributes
    assert prev["items"].data[0].price.id == "price_valheim_monthly"
    assert prev.metadata.to_dict() == SUB_META
    pending = sorted(sb.invoice_items.values(), key=lambda i: i["amount"])
    assert [(i["amount"], i["proration"], i["invoice"]) for i in pending] == [
        (-450, True, None),
        (750, True, None),
    ]
    # billed on the next renewal invoice, after the plan line
    events = sb.advance(period)
    assert types(events) == RENEWAL_OK
    inv = events[2]["data"]["object"]
    assert [line["amount"] for line in inv["lines"]["data"]] == [1500, -450, 750]
    assert inv["amount_paid"] == 1800
    # proration_behavior=none: nothing pending
    client.v1.subscriptions.update(
        sub_id,
        {
            "items": [{"id": item_id, "price": "price_valheim_monthly"}],
            "proration_behavior": "none",
        },
    )
    assert all(i["invoice"] is not None for i in sb.invoice_items.values())
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.update(sub_id, {"items": [{"id": item_id, "price": "price_x"}]})
    assert (err.value.param, err.value.code) == ("items[0][price]", "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.update(
            sub_id, {"items": [{"id": item_id, "price": "price_yearly"}]}
        )
    assert err.value.param == "items[0][price]"


def test_refunds_full_and_partial(sb, client, recorder):
    s = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [{"price": "price_mc_4gb", "quantity": 2}],
            "success_url": SUCCESS_URL,
        }
    )
    sb.complete_session(s.id)
    pi = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(s.id).payment_intent
    )
    charge_id = pi.latest_charge
    recorder.calls.clear()

    refund = client.v1.refunds.create({"charge": charge_id, "amount": 1000})
    assert isinstance(refund, stripe.Refund)
    assert (refund.amount, refund.status, refund.charge, refund.payment_intent) == (
        1000,
        "succeeded",
        charge_id,
        pi.id,
    )
    assert set(refund.to_dict()) == keys_of("refund")
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    delivered = verified(recorder)
    assert [e.type for e in delivered] == ["charge.refunded", "refund.created"]
    assert delivered[0].data.previous_attributes.to_dict() == {"amount_refunded": 0}
    assert delivered[0].data.object.amount_refunded == 1000
    assert delivered[1].data.object.id == refund.id

    recorder.calls.clear()
    rest = client.v1.refunds.create({"payment_intent": pi.id})  # full remainder
    assert rest.amount == 2000
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    delivered = verified(recorder)
    assert delivered[0].data.previous_attributes.to_dict() == {
        "amount_refunded": 1000,
        "refunded": False,
    }
    assert client.v1.refunds.retrieve(rest.id).amount == 2000
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": charge_id})
    assert err.value.code == "charge_already_refunded"

    session = subscribe(sb, client)  # a subscription invoice's charge, full refund
    inv = client.v1.invoices.retrieve(session["invoice"], {"expand": ["payments"]})
    sub_pi = client.v1.payment_intents.retrieve(inv.payments.data[0].payment.payment_intent)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": sub_pi.latest_charge, "amount": 901})
    assert err.value.param == "amount"
    assert str(err.value.user_message) == (
        "Refund amount (€9.01) is greater than unrefunded amount on charge (€9.00)"
    )
    full = client.v1.refunds.create({"charge": sub_pi.latest_charge})
    assert full.amount == 900
    assert client.v1.charges.retrieve(sub_pi.latest_charge).refunded is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.retrieve("re_nope")
    assert err.value.http_status == 404


def test_disputes(sb, client, recorder):
    session = subscribe(sb, client)
    inv = client.v1.invoices.retrieve(session["invoice"], {"expand": ["payments"]})
    pi = client.v1.payment_intents.retrieve(inv.payments.data[0].payment.payment_intent)
    recorder.calls.clear()

    dispute = sb.create_dispute(pi.latest_charge)
    delivered = verified(recorder)
    assert [e.type for e in delivered] == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ]
    obj = delivered[0].data.object
    assert isinstance(obj, stripe.Dispute)
    assert (obj.id, obj.status, obj.reason, obj.amount) == (
        dispute["id"],
        "needs_response",
        "fraudulent",
        900,
    )
    assert (obj.charge, obj.payment_intent) == (pi.latest_charge, pi.id)
    assert set(obj.to_dict()) == keys_of("dispute")
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True
    assert client.v1.disputes.retrieve(dispute["id"]).status == "needs_response"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"charge": pi.latest_charge})
    assert err.value.code == "charge_disputed"

    recorder.calls.clear()
    won = sb.close_dispute(dispute["id"], "won")
    assert won["status"] == "won"
    delivered = verified(recorder)
    assert [e.type for e in delivered] == [
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    assert delivered[0].data.object.status == "won"

    # accepting a dispute through the API closes it as lost
    sb.advance(40 * DAY)  # a renewal → a second charge
    renewal = client.v1.invoices.retrieve(
        client.v1.subscriptions.retrieve(session["subscription"]).latest_invoice,
        {"expand": ["payments"]},
    )
    charge2 = client.v1.payment_intents.retrieve(
        renewal.payments.data[0].payment.payment_intent
    ).latest_charge
    second = sb.create_dispute(charge2, reason="product_not_received", deliver=False)
    recorder.calls.clear()
    lost = client.v1.disputes.close(second["id"])
    assert lost.status == "lost"
    assert [e.type for e in verified(recorder)] == ["charge.dispute.closed"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(second["id"])
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.disputes.retrieve("du_nope")
    assert err.value.http_status == 404


def test_admin_billing_routes_and_pay_page(sb, client, recorder):
    s = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": "price_valheim_monthly", "quantity": 1}],
            "success_url": SUCCESS_URL,
            "customer_email": "alex@example.com",
        }
    )
    page = requests.get(s.url, timeout=5).text
    assert '<p id="recurring">Then <strong>€9.00 / month</strong>' in page
    assert requests.post(s.url, allow_redirects=False, timeout=5).status_code == 303
    session = client.v1.checkout.sessions.retrieve(s.id)
    base = f"{sb.url}/_sandbox"

    r = requests.post(
        f"{base}/customers/{session.customer}/payment_failing", json={"failing": True}, timeout=5
    )
    assert r.json() == {"customer": session.customer, "failing": True}
    assert (
        requests.post(f"{base}/customers/cus_nope/payment_failing", json={}, timeout=5).status_code
        == 404
    )
    r = requests.post(f"{base}/clock/advance", json={"seconds": 28 * DAY}, timeout=5)
    body = r.json()
    assert body["now"] == ts(2027, 2, 28, 12)
    assert types(body["events"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    assert requests.get(f"{base}/clock", timeout=5).json()["now"] == ts(2027, 2, 28, 12)
    inv_id = body["events"][0]["data"]["object"]["id"]
    r = requests.post(f"{base}/invoices/{inv_id}/pay", json={}, timeout=5)
    assert r.json()["invoice"]["status"] == "paid"
    assert types(r.json()["events"]) == [
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    assert requests.post(f"{base}/invoices/{inv_id}/pay", json={}, timeout=5).status_code == 409

    charge_id = next(iter(sb.charges))
    r = requests.post(f"{base}/disputes", json={"charge": charge_id, "deliver": False}, timeout=5)
    dispute = r.json()
    assert dispute["status"] == "needs_response"
    r = requests.post(f"{base}/disputes/{dispute['id']}/close", json={"status": "lost"}, timeout=5)
    assert r.json()["status"] == "lost"
    assert requests.post(f"{base}/disputes/du_nope/close", json={}, timeout=5).status_code == 404
    assert (
        requests.put(f"{base}/knobs", json={"after_final_failure": "x"}, timeout=5).status_code
        == 400
    )
    bad = requests.put(f"{base}/knobs", json={"retry_schedule_days": [5, 3]}, timeout=5)
    assert bad.status_code == 400


def test_persistence_covers_billing_state(tmp_path, recorder):
    path = str(tmp_path / "state.json")
    first = StripeSandbox(
        webhook_secret=SECRET, deliver=recorder, prices=PRICES, clock=lambda: T0, state_path=path
    )
    first.serve()
    client = make_client(first.url)
    session = subscribe(first, client)
    first.advance(40 * DAY)
    first.set_payment_failing(session["customer"], True)
    dispute = first.create_dispute(next(iter(first.charges)))
    first.shutdown()

    again = StripeSandbox(
        webhook_secret=SECRET, deliver=recorder, clock=lambda: T0, state_path=path
    )
    assert again.now() == T0 + 40 * DAY
    assert again.subscriptions.keys() == first.subscriptions.keys()
    assert again.invoices == first.invoices
    assert again.disputes[dispute["id"]]["status"] == "needs_response"
    assert again.failing_customers == {session["customer"]: True}
    events = again.advance(ts(2027, 3, 31, 12) - again.now())
    assert types(events)[-2:] == ["invoice.payment_failed", "customer.subscription.updated"]
    assert StripeSandbox(webhook_secret=SECRET, state_path=path, clock=lambda: T0).dunning
