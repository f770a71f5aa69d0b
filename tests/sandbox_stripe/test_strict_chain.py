"""No metadata inheritance, includable fields, and the charge → PaymentIntent → invoice
payment → invoice → subscription chain, through the real stripe SDK (API 2026-10-28.endive)."""

from __future__ import annotations

import json

import pytest
import stripe

from sandbox.stripe import StripeSandbox

from .conftest import API_KEY, SECRET, Recorder, make_client
from .test_billing import DAY, PRICES, SUB_META, T0, subscribe

ONE_OFF_META = {"order_id": "42"}


@pytest.fixture
def sb(recorder: Recorder):
    sandbox = StripeSandbox(
        api_key=API_KEY, webhook_secret=SECRET, deliver=recorder, prices=PRICES, clock=lambda: T0
    )
    sandbox.serve()
    yield sandbox
    sandbox.shutdown()


@pytest.fixture
def client(sb: StripeSandbox) -> stripe.StripeClient:
    assert sb.url
    return make_client(sb.url)


def test_renewal_charge_leads_back_to_its_subscription_without_metadata(sb, client, recorder):
    subs = [subscribe(sb, client)["subscription"] for _ in range(3)]  # one customer each
    sb.advance(40 * DAY)  # every subscription renews once: a second invoice and charge each
    for sub_id in subs:
        renewal = client.v1.invoices.retrieve(
            client.v1.subscriptions.retrieve(sub_id).latest_invoice
        )
        assert renewal.billing_reason == "subscription_cycle"
        pays = client.v1.invoice_payments.list({"invoice": renewal.id})
        (pay,) = pays.data
        pi = client.v1.payment_intents.retrieve(pay.payment.payment_intent)
        charge = client.v1.charges.retrieve(pi.latest_charge)
        # nothing of the subscription's metadata travels onto the PaymentIntent or the Charge
        assert pi.metadata.to_dict() == {} and charge.metadata.to_dict() == {}
        assert client.v1.subscriptions.retrieve(sub_id).metadata.to_dict() == SUB_META

        # from the charge alone (as a refund or dispute event gives it) back to the order:
        found = client.v1.invoice_payments.list(
            {"payment": {"type": "payment_intent", "payment_intent": charge.payment_intent}}
        )
        assert [p.id for p in found.data] == [pay.id]
        inv = client.v1.invoices.retrieve(found.data[0].invoice)
        assert inv.parent.subscription_details.subscription == sub_id

        # or in one call, expanding through the invoice payment
        one = client.v1.invoice_payments.list(
            {
                "payment": {"type": "payment_intent", "payment_intent": pi.id},
                "expand": ["data.invoice"],
            }
        )
        assert one.data[0].invoice.parent.subscription_details.subscription == sub_id


def test_invoice_payments_list_rules(sb, client):
    sub = subscribe(sb, client)
    with_payments = client.v1.invoices.retrieve(
        sub["invoice"], {"expand": ["payments.data.payment.payment_intent"]}
    )
    (pay,) = with_payments.payments.data
    assert pay.payment.payment_intent.object == "payment_intent"
    assert client.v1.invoice_payments.retrieve(pay.id).invoice == sub["invoice"]
    # payment[type] is required once payment is given (InvoicePaymentListParamsPayment)
    try:
        client.v1.invoice_payments.list({"payment": {"payment_intent": "pi_x"}})
    except stripe.InvalidRequestError as exc:
        assert (exc.code, exc.param) == ("parameter_missing", "payment[type]")
    else:
        raise AssertionError("payment[type] should be required")
    try:
        client.v1.invoice_payments.list({"payment": {"type": "charge"}})
    except stripe.InvalidRequestError as exc:
        assert exc.param == "payment[type]"
        assert exc.user_message == (
            "Invalid payment[type]: must be one of payment_intent or payment_record"
        )
    else:
        raise AssertionError("payment[type]=charge should be refused")
    unknown = client.v1.invoice_payments.list(
        {"payment": {"type": "payment_intent", "payment_intent": "pi_foreign"}}
    )
    assert unknown.data == []


def test_includable_fields_only_when_expanded(sb, client, recorder):
    sub = subscribe(sb, client)
    inv = client.v1.invoices.retrieve(sub["invoice"])
    assert "payments" not in inv.to_dict()
    pi_id = client.v1.invoice_payments.list({"invoice": inv.id}).data[0].payment.payment_intent
    charge_id = client.v1.payment_intents.retrieve(pi_id).latest_charge
    assert "refunds" not in client.v1.charges.retrieve(charge_id).to_dict()
    recorder.calls.clear()
    refund = client.v1.refunds.create({"charge": charge_id, "amount": 100})
    (refunded_event,) = [json.loads(b) for b, _ in recorder.calls if '"charge.refunded"' in b]
    charge_in_event = refunded_event["data"]["object"]
    # webhook payloads cannot be expanded: no refunds list, no metadata on a renewal charge
    assert "refunds" not in charge_in_event and charge_in_event["metadata"] == {}
    assert charge_in_event["amount_refunded"] == 100
    expanded = client.v1.charges.retrieve(charge_id, {"expand": ["refunds"]})
    assert [r.id for r in expanded.refunds.data] == [refund.id]
    raw = client.raw_request("get", f"/v1/charges/{charge_id}/refunds")
    assert [r["id"] for r in json.loads(raw.body)["data"]] == [refund.id]
    assert [c.id for c in client.v1.charges.list({"payment_intent": pi_id}).data] == [charge_id]
    for event_body, _ in recorder.calls:
        obj = json.loads(event_body)["data"]["object"]
        assert "payments" not in obj and "refunds" not in obj


def test_one_off_payment_metadata_only_from_payment_intent_data(sb, client, recorder):
    s = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [{"price": "price_mc_4gb", "quantity": 1}],
            "success_url": "https://shop.test/ok",
            "metadata": {"order_id": "42", "session_only": "yes"},
            "payment_intent_data": {"metadata": ONE_OFF_META},
        }
    )
    sb.complete_session(s.id)
    pi = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(s.id).payment_intent
    )
    assert pi.metadata.to_dict() == ONE_OFF_META  # session metadata is not inherited
    # A PaymentIntent's charge carries the PaymentIntent's metadata
    assert client.v1.charges.retrieve(pi.latest_charge).metadata.to_dict() == ONE_OFF_META
    plain = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [{"price": "price_mc_4gb", "quantity": 1}],
            "success_url": "https://shop.test/ok",
            "metadata": {"order_id": "43"},
        }
    )
    sb.complete_session(plain.id)
    pi2 = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(plain.id).payment_intent
    )
    assert pi2.metadata.to_dict() == {}
    assert client.v1.charges.retrieve(pi2.latest_charge).metadata.to_dict() == {}
    # no invoice payment exists for a one-off Checkout payment
    found = client.v1.invoice_payments.list(
        {"payment": {"type": "payment_intent", "payment_intent": pi2.id}}
    )
    assert found.data == []


def test_one_customer_three_subscriptions_each_charge_finds_its_own(sb, client):
    first = subscribe(sb, client)
    customer = first["customer"]
    subs = [first["subscription"]]
    for _ in range(2):  # a returning customer buys two more plans
        s = client.v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "customer": customer,
                "line_items": [{"price": "price_valheim_monthly", "quantity": 1}],
                "success_url": "https://shop.test/ok",
                "subscription_data": {"metadata": SUB_META},  # same metadata on purpose
            }
        )
        subs.append(sb.complete_session(s.id)["data"]["object"]["subscription"])
    assert len(set(subs)) == 3
    sb.advance(40 * DAY)
    charges = client.v1.charges.list({"customer": customer, "limit": 100}).data
    assert len(charges) == 6  # three first invoices, three renewals; no metadata on any
    assert all(c.metadata.to_dict() == {} for c in charges)
    found: dict[str, list[str]] = {}
    for charge in charges:
        (pay,) = client.v1.invoice_payments.list(
            {
                "payment": {"type": "payment_intent", "payment_intent": charge.payment_intent},
                "expand": ["data.invoice"],
            }
        ).data
        sub_id = pay.invoice.parent.subscription_details.subscription
        found.setdefault(sub_id, []).append(pay.invoice.billing_reason)
    assert {k: sorted(v) for k, v in found.items()} == {
        s: ["subscription_create", "subscription_cycle"] for s in subs
    }
