"""Promotion codes and coupons, automatic tax (sandbox rate 10%) and e-mailed receipts, as
Checkout applies them (real stripe SDK; hosted page over HTTP)."""

from __future__ import annotations

import json

import pytest
import requests
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.stripe import SandboxError
from sandbox.stripe.pricing import tax_amount

from .conftest import SECRET, session_params

DAY = 86400
SUB = {
    "mode": "subscription",
    "line_items": [{"price": "price_mc_4gb_monthly", "quantity": 1}],
    "payment_intent_data": None,
}


def make_code(client, code: str = "SPRING25", **coupon) -> stripe.PromotionCode:
    c = client.v1.coupons.create(coupon or {"percent_off": 25, "duration": "once"})
    return client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": c.id}, "code": code}
    )


def pay(sandbox, sid: str, **form: str) -> requests.Response:
    return requests.post(f"{sandbox.url}/pay/{sid}", data=form, allow_redirects=False, timeout=5)


def events(recorder) -> list[stripe.Event]:
    return [stripe.Webhook.construct_event(b, h, SECRET) for b, h in recorder.calls]


def test_promotion_code_entered_on_the_page(sandbox, client, recorder):
    promo = make_code(client)
    s = client.v1.checkout.sessions.create(session_params(allow_promotion_codes=True))
    assert s.allow_promotion_codes is True and s.total_details.amount_discount == 0
    page = requests.get(f"{sandbox.url}/pay/{s.id}", timeout=5).text
    assert 'name="promotion_code"' in page
    bad = pay(sandbox, s.id, promotion_code="NOPE")
    assert bad.status_code == 400 and "This code is invalid." in bad.text
    assert sandbox.sessions[s.id]["status"] == "open" and recorder.calls == []
    assert pay(sandbox, s.id, promotion_code="spring25").status_code == 303  # case-insensitive
    (completed,) = events(recorder)
    obj = completed.data.object
    assert (obj.amount_subtotal, obj.amount_total) == (3000, 2250)
    assert obj.total_details.amount_discount == 750
    assert [(d.coupon, d.promotion_code) for d in obj.discounts] == [
        (promo.promotion.coupon, promo.id)
    ]
    items = client.v1.checkout.sessions.line_items.list(s.id).data
    assert [(i.amount_subtotal, i.amount_discount, i.amount_total) for i in items] == [
        (3000, 750, 2250)
    ]
    pi = client.v1.payment_intents.retrieve(obj.payment_intent)
    assert pi.amount == 2250
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1
    assert client.v1.coupons.retrieve(promo.promotion.coupon).times_redeemed == 1


def test_codes_need_allow_promotion_codes_and_limits_hold(sandbox, client):
    make_code(client, "ONCEONLY", percent_off=10, duration="once", max_redemptions=1)
    closed = client.v1.checkout.sessions.create(session_params())
    with pytest.raises(SandboxError, match="does not accept promotion codes"):
        sandbox.complete_session(closed.id, promotion_code="ONCEONLY")
    assert sandbox.sessions[closed.id]["status"] == "open"
    a = client.v1.checkout.sessions.create(session_params(allow_promotion_codes=True))
    b = client.v1.checkout.sessions.create(session_params(allow_promotion_codes=True))
    sandbox.complete_session(a.id, promotion_code="ONCEONLY")
    with pytest.raises(SandboxError, match="maximum number of redemptions"):
        sandbox.complete_session(b.id, promotion_code="ONCEONLY")
    assert sandbox.sessions[b.id]["status"] == "open"


def test_discounts_at_creation(sandbox, client):
    c = client.v1.coupons.create({"amount_off": 500, "currency": "usd", "duration": "once"})
    s = client.v1.checkout.sessions.create(session_params(discounts=[{"coupon": c.id}]))
    assert (s.amount_total, s.total_details.amount_discount) == (2500, 500)
    before = dict(sandbox.sessions)
    for overrides, param, message in [
        (
            {"discounts": [{"coupon": c.id}], "allow_promotion_codes": True},
            None,
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
        ),
        ({"discounts": [{"coupon": "nope"}]}, "discounts[0][coupon]", "No such coupon: 'nope'"),
        (
            {
                "discounts": [{"coupon": c.id}],
                "line_items": [{"price": "price_eur", "quantity": 1}],
            },
            "discounts[0]",
            "This coupon's currency does not match the currency of the Checkout Session.",
        ),
        (
            {"discounts": [{"coupon": c.id}, {"coupon": c.id}]},
            "discounts",
            "You may only apply one discount to a Checkout Session.",
        ),
    ]:
        with pytest.raises(stripe.InvalidRequestError) as err:
            client.v1.checkout.sessions.create(session_params(**overrides))
        assert (err.value.param, err.value.user_message) == (param, message)
    assert sandbox.sessions == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"percent_off": 10, "amount_off": 5, "currency": "usd"},
            "You must pass exactly one of these parameters: amount_off, percent_off.",
        ),
        ({"percent_off": 150}, "Percent off must be between 0 and 100."),
        ({"amount_off": 5}, "Missing required param: currency."),
        (
            {"percent_off": 5, "duration": "repeating"},
            "Missing required param: duration_in_months.",
        ),
        (
            {"percent_off": 5, "duration": "sometimes"},
            "Invalid duration: must be one of forever, once, or repeating",
        ),
    ],
)
def test_coupon_rules(sandbox, client, params, message):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.coupons.create(params)
    assert err.value.user_message == message
    assert sandbox.coupons == {}


def test_automatic_tax_is_added_when_the_address_is_entered(sandbox, client, recorder):
    s = client.v1.checkout.sessions.create(session_params(automatic_tax={"enabled": True}))
    assert (s.automatic_tax.enabled, s.automatic_tax.status) == (True, "requires_location_inputs")
    assert (s.amount_total, s.total_details.amount_tax) == (3000, 0)
    page = requests.get(f"{sandbox.url}/pay/{s.id}", timeout=5).text
    assert 'name="address_postal_code"' in page and 'id="tax-note"' in page
    assert (
        pay(
            sandbox,
            s.id,
            address_line1="1 Main St",
            address_city="Austin",
            address_postal_code="78701",
            address_state="TX",
            address_country="US",
        ).status_code
        == 303
    )
    (completed,) = events(recorder)
    obj = completed.data.object
    assert obj.automatic_tax.status == "complete"
    assert (obj.amount_subtotal, obj.total_details.amount_tax, obj.amount_total) == (
        3000,
        300,
        3300,
    )
    assert obj.customer_details.address.city == "Austin"
    assert client.v1.payment_intents.retrieve(obj.payment_intent).amount == 3300


def test_automatic_tax_address_rules_with_an_existing_customer(sandbox, client):
    sub = client.v1.checkout.sessions.create(session_params(**SUB))
    sandbox.complete_session(sub.id)
    customer = sandbox.sessions[sub.id]["customer"]
    base = session_params(customer_email=None, customer=customer, automatic_tax={"enabled": True})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.create(base)
    assert err.value.param == "automatic_tax[enabled]"
    assert "`customer_update[address]` to 'auto'" in err.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.create(session_params(customer_update={"address": "auto"}))
    assert err.value.param == "customer_update"
    ok = client.v1.checkout.sessions.create({**base, "customer_update": {"address": "auto"}})
    sandbox.complete_session(
        ok.id, address={"city": "Portland", "postal_code": "97201", "state": "OR"}
    )
    assert client.v1.customers.retrieve(customer).address.city == "Portland"


def test_subscription_with_a_once_coupon_and_tax(sandbox, client):
    make_code(client, "HALF", percent_off=50, duration="once")
    s = client.v1.checkout.sessions.create(
        session_params(**SUB, allow_promotion_codes=True, automatic_tax={"enabled": True})
    )
    done = sandbox.complete_session(s.id, promotion_code="HALF")["data"]["object"]
    assert (done["amount_total"], done["total_details"]) == (
        660,
        {"amount_discount": 600, "amount_shipping": 0, "amount_tax": 60},
    )
    first = client.v1.invoices.retrieve(done["invoice"])
    assert (first.subtotal, first.total_excluding_tax, first.total, first.amount_paid) == (
        1200,
        600,
        660,
        660,
    )
    assert first.total_discount_amounts[0].amount == 600 and first.total_taxes[0].amount == 60
    sub = client.v1.subscriptions.retrieve(done["subscription"])
    assert sub.automatic_tax.enabled is True and len(sub.discounts) == 1
    sandbox.advance(32 * DAY)
    sub = client.v1.subscriptions.retrieve(done["subscription"])
    renewal = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (renewal.subtotal, renewal.total, renewal.discounts) == (1200, 1320, [])
    assert sub.discounts == []


def test_receipts_only_when_stripe_would_email_them(sandbox, client):
    plain = client.v1.checkout.sessions.create(session_params())
    sandbox.complete_session(plain.id)
    pi = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(plain.id).payment_intent
    )
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.receipt_email, charge.receipt_number) == (None, None)
    assert charge.receipt_url == f"{sandbox.url}/receipts/{charge.id}"
    assert sandbox.receipts == []

    asked = client.v1.checkout.sessions.create(
        session_params(
            payment_intent_data={"metadata": {"order_id": "42"}, "receipt_email": "r@example.com"}
        )
    )
    sandbox.complete_session(asked.id)
    pi = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(asked.id).payment_intent
    )
    assert pi.receipt_email == "r@example.com"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.receipt_email == "r@example.com" and charge.receipt_number
    assert sandbox.receipt_for(charge.id)["to"] == "r@example.com"
    outbox = requests.get(f"{sandbox.url}/_sandbox/receipts", timeout=5).json()["data"]
    assert [(r["to"], r["charge"], r["amount"]) for r in outbox] == [
        ("r@example.com", charge.id, 3000)
    ]
    page = requests.get(charge.receipt_url, timeout=5)
    assert page.status_code == 200 and "$30.00" in page.text and charge.receipt_number in page.text
    assert requests.get(f"{sandbox.url}/receipts/ch_nope", timeout=5).status_code == 404

    sandbox.set_knobs({"email_receipts": True})  # Dashboard: e-mail customers on success
    sub = client.v1.checkout.sessions.create(session_params(**SUB))
    sandbox.complete_session(sub.id)
    inv = client.v1.invoices.retrieve(sandbox.sessions[sub.id]["invoice"], {"expand": ["payments"]})
    sub_pi = client.v1.payment_intents.retrieve(inv.payments.data[0].payment.payment_intent)
    assert client.v1.charges.retrieve(sub_pi.latest_charge).receipt_email == "alex@example.com"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.create(
            session_params(payment_intent_data={"receipt_email": "not-an-email"})
        )
    assert err.value.param == "payment_intent_data[receipt_email]"


def test_required_billing_address_on_the_page(sandbox, client, recorder):
    s = client.v1.checkout.sessions.create(session_params(billing_address_collection="required"))
    missing = pay(
        sandbox,
        s.id,
        address_line1="",
        address_city="X",
        address_postal_code="1",
        address_country="US",
    )
    assert missing.status_code == 400 and recorder.calls == []
    assert (
        pay(
            sandbox,
            s.id,
            address_line1="2 Rue",
            address_city="Paris",
            address_postal_code="75001",
            address_country="FR",
        ).status_code
        == 303
    )
    (completed,) = events(recorder)
    assert completed.data.object.customer_details.address.country == "FR"
    assert (
        json.loads(recorder.calls[0][0])["data"]["object"]["billing_address_collection"]
        == "required"
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    quantities=st.tuples(st.integers(1, 5), st.integers(0, 5)),
    percent=st.one_of(st.none(), st.integers(1, 100)),
    amount_off=st.integers(1, 20_000),
    tax=st.booleans(),
)
def test_discount_and_tax_amounts_always_add_up(sandbox, quantities, percent, amount_off, tax):
    coupon = sandbox.create_coupon(
        {"percent_off": percent} if percent else {"amount_off": amount_off, "currency": "usd"}
    )
    lines = [{"price": "price_mc_4gb", "quantity": quantities[0]}]
    if quantities[1]:
        lines.append({"price": "price_setup", "quantity": quantities[1]})
    s = sandbox.create_session(
        session_params(
            line_items=lines, discounts=[{"coupon": coupon["id"]}], automatic_tax={"enabled": tax}
        )
    )
    done = sandbox.complete_session(s["id"], deliver=False)["data"]["object"]
    items = sandbox.line_items_for(s["id"])
    subtotal = 1500 * quantities[0] + 500 * quantities[1]
    details = done["total_details"]
    assert done["amount_subtotal"] == subtotal == sum(i["amount_subtotal"] for i in items)
    assert 0 <= details["amount_discount"] <= subtotal
    expected = (
        min(subtotal, amount_off)
        if not percent
        else min(subtotal, int(subtotal * percent / 100 + 0.5))
    )
    assert details["amount_discount"] == expected == sum(i["amount_discount"] for i in items)
    assert details["amount_tax"] == sum(i["amount_tax"] for i in items)
    per_line = [tax_amount(i["amount_subtotal"] - i["amount_discount"]) for i in items]
    assert details["amount_tax"] == (sum(per_line) if tax else 0)  # 10 %, half up, per line
    assert done["amount_total"] == subtotal - expected + details["amount_tax"]
    assert done["amount_total"] == sum(i["amount_total"] for i in items)
    assert sandbox.payment_intents[done["payment_intent"]]["amount"] == done["amount_total"]
