"""The real stripe-python 16 SDK against the served sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import stripe

from sandbox.stripe import API_VERSION, StripeSandbox

from .conftest import API_KEY, CANCEL_URL, SECRET, SUCCESS_URL, make_client, session_params

SHAPES = Path(__file__).parent / "shapes"


def keys_of(name: str) -> set[str]:
    return set(json.loads((SHAPES / f"{name}.json").read_text()))


def test_create_session_returns_full_open_session(sandbox: StripeSandbox, client):
    s = client.v1.checkout.sessions.create(session_params())
    assert isinstance(s, stripe.checkout.Session)
    assert s.id.startswith("cs_test_a1") and len(s.id) == 66
    assert s.object == "checkout.session"
    assert s.mode == "payment"
    assert s.status == "open"
    assert s.payment_status == "unpaid"
    assert s.amount_subtotal == 3000
    assert s.amount_total == 3000
    assert s.currency == "usd"
    assert s.client_reference_id == "order_42"
    assert s.customer_email == "alex@example.com"
    assert s.customer is None
    assert s.customer_creation == "if_required"
    assert s.metadata.to_dict() == {"order_id": "42", "plan": "mc-4gb"}
    assert s.success_url == SUCCESS_URL
    assert s.cancel_url == CANCEL_URL
    assert s.url == f"{sandbox.url}/pay/{s.id}"
    assert s.livemode is False
    assert s.payment_intent is None
    assert s.subscription is None
    assert s.ui_mode == "hosted_page"
    assert s.expires_at - s.created == 24 * 3600
    assert abs(s.created - sandbox.now()) <= 1
    assert set(s.to_dict()) >= keys_of("checkout.session")
    assert "line_items" not in s


def test_retrieve_with_expand_and_line_items_endpoint(client):
    created = client.v1.checkout.sessions.create(
        session_params(
            line_items=[
                {"price": "price_mc_4gb", "quantity": 1},
                {"price": "price_setup", "quantity": 1},
            ]
        )
    )
    s = client.v1.checkout.sessions.retrieve(created.id, {"expand": ["line_items"]})
    assert s.id == created.id
    assert s.amount_total == 2000
    items = s.line_items
    assert items.object == "list"
    assert items.url == f"/v1/checkout/sessions/{created.id}/line_items"
    assert [(i.object, i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("item", "Minecraft 4 GB", 1, 1500),
        ("item", "Setup fee", 1, 500),
    ]
    assert items.data[0].price.id == "price_mc_4gb"
    assert items.data[0].price.unit_amount == 1500
    listed = client.v1.checkout.sessions.line_items.list(created.id, {"limit": 1})
    assert [i.description for i in listed.data] == ["Minecraft 4 GB"]
    assert listed.has_more is True
    plain = client.v1.checkout.sessions.retrieve(created.id)
    assert "line_items" not in plain
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.retrieve("cs_test_missing")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"
    assert str(exc.value.user_message) == "No such checkout.session: 'cs_test_missing'"


def test_idempotent_replay_returns_first_response(sandbox: StripeSandbox, client):
    opts = {"idempotency_key": "checkout:42:1"}
    first = client.v1.checkout.sessions.create(session_params(), opts)
    second = client.v1.checkout.sessions.create(session_params(), opts)
    assert second.id == first.id
    assert second.to_dict() == first.to_dict()
    assert len(sandbox.sessions) == 1
    assert sandbox.requests == [("POST", "/v1/checkout/sessions")] * 2

    # headers, seen raw
    url = f"{sandbox.url}/v1/checkout/sessions"
    body = "mode=payment&line_items[0][price]=price_setup&line_items[0][quantity]=1&success_url=https://a.test/ok"
    auth = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "raw-1"}
    hdrs = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    r1 = requests.post(url, data=body, headers=hdrs, timeout=5)
    r2 = requests.post(url, data=body, headers=hdrs, timeout=5)
    assert r1.status_code == r2.status_code == 200
    assert r1.headers["Idempotency-Key"] == "raw-1"
    assert r1.headers["Request-Id"].startswith("req_")
    assert r2.headers["Idempotent-Replayed"] == "true"
    assert r2.headers["Original-Request"] == r1.headers["Request-Id"]
    assert r1.content == r2.content


def test_idempotency_key_with_different_params_is_an_idempotency_error(client):
    client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "k-9"})
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.checkout.sessions.create(
            session_params(client_reference_id="order_43"), {"idempotency_key": "k-9"}
        )
    assert exc.value.http_status == 400
    assert exc.value.error.type == "idempotency_error"
    assert exc.value.user_message == (
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with. Try using a key other than 'k-9' if you meant to execute a "
        "different request."
    )
    assert exc.value.request_id.startswith("req_")


def test_failed_validation_does_not_burn_the_key(sandbox, client):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(session_params(mode=None), {"idempotency_key": "v"})
    s = client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "v"})
    assert s.status == "open"


def test_unknown_price_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(
            session_params(line_items=[{"price": "price_x", "quantity": 1}])
        )
    err = exc.value
    assert err.http_status == 400
    assert err.code == "resource_missing"
    assert err.param == "line_items[0][price]"
    assert err.user_message == "No such price: 'price_x'"
    assert err.error.type == "invalid_request_error"


@pytest.mark.parametrize(
    ("overrides", "param", "message"),
    [
        ({"mode": None}, "mode", "Missing required param: mode."),
        ({"mode": "rent"}, "mode", "Invalid mode: must be one of payment, setup, or subscription"),
        ({"line_items": None}, "line_items", "Missing required param: line_items."),
        ({"success_url": None}, "success_url", "Missing required param: success_url."),
        ({"success_url": "not a url"}, "success_url", "Not a valid URL"),
        (
            {"line_items": [{"price": "price_mc_4gb"}]},
            "line_items[0][quantity]",
            "Quantity is required. Add `quantity` to `line_items[0]`",
        ),
        (
            {"customer": "cus_1"},
            None,
            "You may only specify one of these parameters: customer, customer_email.",
        ),
        (
            {"line_items": [{"price": "price_mc_4gb_monthly", "quantity": 1}]},
            "line_items[0][price]",
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        ),
        (
            {"mode": "subscription", "payment_intent_data": None},
            "line_items",
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
        ),
        (
            {
                "line_items": [
                    {"price": "price_mc_4gb", "quantity": 1},
                    {"price": "price_eur", "quantity": 1},
                ]
            },
            "line_items",
            "Checkout does not support multiple prices with different currencies.",
        ),
        ({"colour": "red"}, "colour", "Received unknown parameter: colour"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]", None),
    ],
)
def test_create_validation(client, overrides, param, message):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(session_params(**overrides))
    assert exc.value.http_status == 400
    assert exc.value.param == param
    if message is not None:
        assert exc.value.user_message == message


def test_expires_at_bounds(sandbox, client):
    now = sandbox.now()
    s = client.v1.checkout.sessions.create(session_params(expires_at=now + 3600))
    assert s.expires_at == now + 3600
    for bad, text in [(now + 600, "at least 30 minutes"), (now + 25 * 3600, "less than 24 hours")]:
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.checkout.sessions.create(session_params(expires_at=bad))
        assert exc.value.param == "expires_at"
        assert text in exc.value.user_message


def test_subscription_mode_session(client):
    s = client.v1.checkout.sessions.create(
        session_params(
            mode="subscription",
            payment_intent_data=None,
            line_items=[
                {"price": "price_mc_4gb_monthly", "quantity": 1},
                {"price": "price_setup", "quantity": 1},
            ],
            subscription_data={"metadata": {"order_id": "42"}},
        )
    )
    assert (s.mode, s.amount_total, s.customer_creation, s.invoice_creation) == (
        "subscription",
        1700,
        None,
        None,
    )


def test_bad_api_key_is_authentication_error(sandbox):
    with pytest.raises(stripe.AuthenticationError) as exc:
        make_client(sandbox.url, "sk_test_wrongkey1234xyz").v1.checkout.sessions.create(
            session_params()
        )
    assert exc.value.http_status == 401
    assert exc.value.user_message == "Invalid API Key provided: sk_test_***********4xyz"
    assert sandbox.sessions == {}
    r = requests.get(f"{sandbox.url}/v1/events", timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["message"].startswith("You did not provide an API key.")


def test_expire(sandbox, client, recorder):
    s = client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "create-1"})
    expired = client.v1.checkout.sessions.expire(s.id, options={"idempotency_key": "exp-1"})
    assert (expired.id, expired.status, expired.url) == (s.id, "expired", None)
    assert [e["type"] for e in sandbox.events] == ["checkout.session.expired"]
    event = sandbox.events[0]
    assert event["request"]["idempotency_key"] == "exp-1"
    assert event["request"]["id"].startswith("req_")
    assert len(recorder.calls) == 1
    delivered = stripe.Webhook.construct_event(recorder.calls[0][0], recorder.calls[0][1], SECRET)
    assert delivered.type == "checkout.session.expired"
    assert delivered.data.object.id == s.id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.expire(s.id)
    assert exc.value.http_status == 400
    assert 'This Checkout Session has a status of "expired"' in exc.value.user_message
    assert len(sandbox.events) == 1


def test_events_list_filters_and_pagination(sandbox, client):
    clock = [1_800_000_000.0]
    sandbox.clock = lambda: clock[0]
    ids = []
    for i in range(5):
        clock[0] += 10
        s = client.v1.checkout.sessions.create(
            session_params(client_reference_id=f"o{i}", expires_at=int(clock[0]) + 3600)
        )
        ev = sandbox.complete_session(s.id, deliver=False) if i % 2 == 0 else None
        if ev is None:
            ev = sandbox.expire_session(s.id, deliver=False)
        ids.append(ev["id"])
    newest_first = list(reversed(ids))

    page = client.v1.events.list({"limit": 2})
    assert [e.id for e in page.data] == newest_first[:2]
    assert page.has_more is True
    assert page.url == "/v1/events"
    page2 = client.v1.events.list({"limit": 2, "starting_after": page.data[-1].id})
    assert [e.id for e in page2.data] == newest_first[2:4]
    all_ids = [e.id for e in client.v1.events.list({"limit": 2}).auto_paging_iter()]
    assert all_ids == newest_first

    completed = client.v1.events.list({"type": "checkout.session.completed"})
    assert [e.id for e in completed.data] == [ids[4], ids[2], ids[0]]
    assert all(e.data.object.status == "complete" for e in completed.data)
    wild = client.v1.events.list({"type": "checkout.session.*", "limit": 100})
    assert len(wild.data) == 5
    both = client.v1.events.list(
        {"types": ["checkout.session.expired", "checkout.session.completed"]}
    )
    assert len(both.data) == 5
    recent = client.v1.events.list({"created": {"gte": 1_800_000_030}})
    assert [e.id for e in recent.data] == [ids[4], ids[3], ids[2]]

    one = client.v1.events.retrieve(ids[0])
    assert one.id == ids[0]
    assert one.api_version == API_VERSION
    assert one.type == "checkout.session.completed"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.retrieve("evt_missing")
    assert (exc.value.http_status, exc.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.events.list({"limit": 101})
    assert exc.value.param == "limit"


def test_list_sessions_and_other_resources(sandbox, client):
    a = client.v1.checkout.sessions.create(session_params())
    b = client.v1.checkout.sessions.create(session_params(client_reference_id="order_43"))
    sandbox.complete_session(a.id, deliver=False)
    paid = client.v1.checkout.sessions.retrieve(a.id, {"expand": ["payment_intent"]})
    pi = paid.payment_intent
    assert pi.object == "payment_intent"
    assert pi.status == "succeeded"
    assert pi.amount == pi.amount_received == 3000
    assert pi.metadata.to_dict() == {"order_id": "42"}
    assert set(pi.to_dict()) >= keys_of("payment_intent")

    listed = client.v1.checkout.sessions.list({"payment_intent": pi.id})
    assert [s.id for s in listed.data] == [a.id]
    assert [s.id for s in client.v1.checkout.sessions.list({"status": "open"}).data] == [b.id]
    assert [s.id for s in client.v1.checkout.sessions.list().data] == [b.id, a.id]

    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.status, charge.paid, charge.amount, charge.payment_intent) == (
        "succeeded",
        True,
        3000,
        pi.id,
    )
    assert charge.billing_details.email == "alex@example.com"
    # refunds is includable: absent unless expanded (changelog 2022-11-15)
    assert set(charge.to_dict()) == keys_of("charge") - {"refunds"}
    expanded = client.v1.charges.retrieve(pi.latest_charge, {"expand": ["refunds"]})
    assert expanded.refunds.data == [] and expanded.refunds.url.endswith("/refunds")

    price = client.v1.prices.retrieve("price_mc_4gb_monthly", {"expand": ["product"]})
    assert (price.unit_amount, price.currency, price.type) == (1200, "usd", "recurring")
    assert price.recurring.interval == "month"
    assert price.product.name == "Minecraft 4 GB"
    assert set(client.v1.prices.retrieve("price_setup").to_dict()) >= keys_of("price")
    new = client.v1.prices.create(
        {"unit_amount": 2500, "currency": "usd", "product_data": {"name": "Rust 8 GB"}}
    )
    assert new.id.startswith("price_") and new.unit_amount == 2500
    assert sandbox.prices[new.id]["type"] == "one_time"


def test_customer_created_when_customer_creation_always(sandbox, client):
    s = client.v1.checkout.sessions.create(session_params(customer_creation="always"))
    event = sandbox.complete_session(s.id, deliver=False)
    cus_id = event["data"]["object"]["customer"]
    assert cus_id.startswith("cus_")
    cus = client.v1.customers.retrieve(cus_id)
    assert cus.email == "alex@example.com"
    assert set(cus.to_dict()) >= keys_of("customer")
    s2 = client.v1.checkout.sessions.create(session_params(customer_email=None, customer=cus_id))
    assert s2.customer == cus_id


def test_unknown_route_and_fault_knob(sandbox, client):
    r = requests.get(
        f"{sandbox.url}/v1/widgets", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5
    )
    assert r.status_code == 404
    assert r.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/widgets).")
    sandbox.set_knobs({"fail_next": 1})
    with pytest.raises(stripe.APIError) as exc:
        client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "f"})
    assert exc.value.http_status == 500
    assert exc.value.headers["Stripe-Should-Retry"] == "false"
    assert exc.value.error.type == "api_error"
    ok = client.v1.checkout.sessions.create(session_params(), {"idempotency_key": "f"})
    assert ok.status == "open"
    sandbox.error_rate = 1.0
    with pytest.raises(stripe.APIError):
        client.v1.events.list()
    sandbox.error_rate = 0.0
    assert client.v1.events.list().data == []


def test_global_module_style_also_works(sandbox):
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries)
    try:
        stripe.api_key, stripe.api_base, stripe.max_network_retries = API_KEY, sandbox.url, 0
        s = stripe.checkout.Session.create(**session_params(), idempotency_key="g-1")
        again = stripe.checkout.Session.retrieve(s.id, expand=["line_items"])
        assert again.line_items.data[0].quantity == 2
    finally:
        stripe.api_key, stripe.api_base, stripe.max_network_retries = saved
