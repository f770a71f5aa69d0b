"""Request validation as strict as Stripe's: nested unknown names, enums, booleans,
payment_method_collection, price_data currency and amount (real stripe SDK)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import session_params

SUB_ITEMS = [{"price": "price_mc_4gb_monthly", "quantity": 1}]
FIXTURE_OK = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def refused(sandbox, client, params: dict[str, Any]) -> stripe.InvalidRequestError:
    before = dict(sandbox.sessions)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.create(params)
    assert sandbox.sessions == before  # a refused request creates nothing
    assert err.value.http_status == 400
    return err.value


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        (
            {"payment_intent_data": {"metadata": {"a": "1"}, "receipt_mail": "x@y.z"}},
            "payment_intent_data[receipt_mail]",
        ),
        (
            {
                "mode": "subscription",
                "line_items": SUB_ITEMS,
                "payment_intent_data": None,
                "subscription_data": {"metadata": {"order_id": "1"}, "trial_days": "3"},
            },
            "subscription_data[trial_days]",
        ),
        (
            {
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 100,
                            "product_data": {"name": "X", "colour": "red"},
                        },
                        "quantity": 1,
                    }
                ]
            },
            "line_items[0][price_data][product_data][colour]",
        ),
        ({"automatic_tax": {"enabled": True, "rate": "10"}}, "automatic_tax[rate]"),
        (
            {"customer_update": {"address": "auto"}, "customer_email": None, "colour": "red"},
            "colour",
        ),
        ({"payment_method_types": ["card"]}, "payment_method_types"),  # gone at this version
    ],
)
def test_unknown_parameters_at_any_depth(sandbox, client, overrides, param):
    err = refused(sandbox, client, session_params(**overrides))
    assert (err.code, err.param) == ("parameter_unknown", param)
    assert err.user_message == f"Received unknown parameter: {param}"


@pytest.mark.parametrize(
    ("overrides", "param", "message"),
    [
        (
            {"mode": "donation"},
            "mode",
            "Invalid mode: must be one of payment, setup, or subscription",
        ),
        (
            {"billing_address_collection": "optional"},
            "billing_address_collection",
            "Invalid billing_address_collection: must be one of auto or required",
        ),
        (
            {
                "mode": "subscription",
                "line_items": SUB_ITEMS,
                "payment_intent_data": None,
                "payment_method_collection": "sometimes",
            },
            "payment_method_collection",
            "Invalid payment_method_collection: must be one of always or if_required",
        ),
        (
            {"customer_creation": "never"},
            "customer_creation",
            "Invalid customer_creation: must be one of always or if_required",
        ),
        (
            {"customer_update": {"address": "maybe"}},
            "customer_update[address]",
            "Invalid customer_update[address]: must be one of auto or never",
        ),
        ({"allow_promotion_codes": "yes"}, "allow_promotion_codes", "Invalid boolean: yes"),
        ({"automatic_tax": {"enabled": "1"}}, "automatic_tax[enabled]", "Invalid boolean: 1"),
        (
            {"automatic_tax": {"liability": {"type": "self"}}},
            "automatic_tax[enabled]",
            "Missing required param: automatic_tax[enabled].",
        ),
        ({"expires_at": "soon"}, "expires_at", "Invalid integer: soon"),
        ({"line_items": {"price": "price_mc_4gb"}}, "line_items", "Invalid array"),
        ({"payment_intent_data": "x"}, "payment_intent_data", "Invalid object"),
    ],
)
def test_enums_booleans_and_types(sandbox, client, overrides, param, message):
    err = refused(sandbox, client, session_params(**overrides))
    assert (err.param, err.user_message) == (param, message)


@FIXTURE_OK
@given(
    st.text(min_size=1, max_size=30).filter(lambda v: v not in ("payment", "setup", "subscription"))
)
def test_any_other_mode_is_refused(sandbox, client, mode):
    err = refused(sandbox, client, session_params(mode=mode))
    assert err.param == "mode"


@FIXTURE_OK
@given(st.text(min_size=1, max_size=20).filter(lambda v: v not in ("true", "false")))
def test_booleans_are_only_true_or_false(sandbox, client, flag):
    err = refused(sandbox, client, session_params(allow_promotion_codes=flag))
    assert (err.param, err.user_message) == ("allow_promotion_codes", f"Invalid boolean: {flag}")


def test_payment_method_collection_defaults_and_mode(sandbox, client):
    sub = client.v1.checkout.sessions.create(
        session_params(mode="subscription", line_items=SUB_ITEMS, payment_intent_data=None)
    )
    assert sub.payment_method_collection == "always"
    chosen = client.v1.checkout.sessions.create(
        session_params(
            mode="subscription",
            line_items=SUB_ITEMS,
            payment_intent_data=None,
            payment_method_collection="if_required",
        )
    )
    assert chosen.payment_method_collection == "if_required"
    assert client.v1.checkout.sessions.create(session_params()).payment_method_collection is None
    err = refused(sandbox, client, session_params(payment_method_collection="always"))
    assert err.param == "payment_method_collection"


def price_data(**data: Any) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"currency": "usd", "unit_amount": 100, "product_data": {"name": "X"}}
    base.update(data)
    return [{"price_data": {k: v for k, v in base.items() if v is not None}, "quantity": 1}]


@pytest.mark.parametrize(
    ("data", "param", "message_start"),
    [
        ({"currency": "usdx"}, "line_items[0][price_data][currency]", "Invalid currency: usdx."),
        ({"currency": "xyz"}, "line_items[0][price_data][currency]", "Invalid currency: xyz."),
        ({"currency": "u$d"}, "line_items[0][price_data][currency]", "Invalid currency: u$d."),
        (
            {"currency": None},
            "line_items[0][price_data][currency]",
            "Missing required param: line_items[0][price_data][currency].",
        ),
        (
            {"unit_amount": -1},
            "line_items[0][price_data][unit_amount]",
            "This value must be greater than or equal to 0.",
        ),
        ({"unit_amount": "1.5"}, "line_items[0][price_data][unit_amount]", "Invalid integer: 1.5"),
        (
            {"unit_amount": 100_000_000},
            "line_items[0][price_data][unit_amount]",
            "This value must be less than or equal to 99999999.",
        ),
    ],
)
def test_price_data_currency_and_amount(sandbox, client, data, param, message_start):
    err = refused(sandbox, client, session_params(line_items=price_data(**data)))
    assert err.param == param
    assert err.user_message.startswith(message_start)


def test_price_data_accepts_known_currencies_in_either_case_and_zero(sandbox, client):
    s = client.v1.checkout.sessions.create(
        session_params(line_items=price_data(currency="EUR", unit_amount=0))
    )
    assert (s.currency, s.amount_total) == ("eur", 0)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.prices.create(
            {"currency": "zzz", "unit_amount": 5, "product_data": {"name": "Y"}}
        )
    assert err.value.param == "currency"


@FIXTURE_OK
@given(st.integers(max_value=-1))
def test_negative_amounts_are_refused(sandbox, client, amount):
    err = refused(sandbox, client, session_params(line_items=price_data(unit_amount=amount)))
    assert err.param == "line_items[0][price_data][unit_amount]"


def test_dispute_evidence_submission_method(sandbox, client):
    s = client.v1.checkout.sessions.create(session_params())
    sandbox.complete_session(s.id)
    pi = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(s.id).payment_intent
    )
    dispute = sandbox.create_dispute(pi.latest_charge)
    got = client.v1.disputes.retrieve(dispute["id"])
    assert got.evidence_details.submission_method == "not_submitted"
    # a dispute has its own (empty) metadata: nothing is copied from the charge
    assert client.v1.charges.retrieve(pi.latest_charge).metadata.to_dict() == {"order_id": "42"}
    assert got.metadata.to_dict() == {}


def _subscription(sandbox, client) -> str:
    s = client.v1.checkout.sessions.create(
        session_params(mode="subscription", line_items=SUB_ITEMS, payment_intent_data=None)
    )
    sandbox.complete_session(s.id)
    return sandbox.sessions[s.id]["subscription"]


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"cancel_at_period_end": "yes"}, "cancel_at_period_end", "Invalid boolean: yes"),
        (
            {"proration_behavior": "sometimes"},
            "proration_behavior",
            "Invalid proration_behavior: must be one of always_invoice, create_prorations, or none",
        ),
        (
            {"cancel_at_period_end": True, "colour": "red"},
            "colour",
            "Received unknown parameter: colour",
        ),
    ],
)
def test_subscription_update_is_validated_and_changes_nothing(
    sandbox, client, params, param, message
):
    sub_id = _subscription(sandbox, client)
    before = json.dumps(sandbox.subscriptions[sub_id], sort_keys=True)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.update(sub_id, params)
    assert (err.value.param, err.value.user_message) == (param, message)
    assert json.dumps(sandbox.subscriptions[sub_id], sort_keys=True) == before


def test_refund_and_cancel_parameters_are_validated(sandbox, client):
    s = client.v1.checkout.sessions.create(session_params())
    sandbox.complete_session(s.id)
    pi = client.v1.checkout.sessions.retrieve(s.id).payment_intent
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"payment_intent": pi, "reason": "angry"})
    assert err.value.user_message == (
        "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer"
    )
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"payment_intent": pi, "amount": "all"})
    assert err.value.param == "amount"
    assert sandbox.refunds == {}
    sub_id = _subscription(sandbox, client)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.cancel(sub_id, {"cancellation_details": {"mood": "sad"}})
    assert err.value.param == "cancellation_details[mood]"
    assert sandbox.subscriptions[sub_id]["status"] == "active"


@pytest.mark.parametrize("code", ["🎉PARTY", "x" * 201, "has space", "ab"])
def test_promotion_codes_are_letters_and_digits(sandbox, client, code):
    coupon = client.v1.coupons.create({"percent_off": 5})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.promotion_codes.create(
            {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code}
        )
    assert err.value.param == "code"
    assert sandbox.promotion_codes == {}
