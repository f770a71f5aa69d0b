"""Delayed payment methods: a session completed ``unpaid`` that later succeeds or fails
(checkout.session.async_payment_succeeded / _failed), and expiring only open sessions."""

from __future__ import annotations

import json

import pytest
import requests
import stripe

from sandbox.stripe import SandboxError

from .conftest import SECRET, session_params


def delivered(recorder) -> list[stripe.Event]:
    return [stripe.Webhook.construct_event(b, h, SECRET) for b, h in recorder.calls]


def pay_delayed(sandbox, client) -> str:
    s = client.v1.checkout.sessions.create(session_params())
    page = requests.get(f"{sandbox.url}/pay/{s.id}", timeout=5)
    assert 'name="payment_method" value="delayed"' in page.text
    resp = requests.post(
        f"{sandbox.url}/pay/{s.id}",
        data={"email": "alex@example.com", "payment_method": "delayed"},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 303
    return s.id


def test_pay_page_delayed_choice_completes_unpaid(sandbox, client, recorder):
    sid = pay_delayed(sandbox, client)
    (completed,) = delivered(recorder)
    assert completed.type == "checkout.session.completed"
    assert (completed.data.object.status, completed.data.object.payment_status) == (
        "complete",
        "unpaid",
    )
    pi = client.v1.payment_intents.retrieve(completed.data.object.payment_intent)
    assert (pi.status, pi.amount_received, pi.latest_charge) == ("processing", 0, None)
    assert client.v1.charges.list({"payment_intent": pi.id}).data == []
    assert client.v1.checkout.sessions.retrieve(sid).payment_status == "unpaid"


def test_async_payment_succeeds_later(sandbox, client, recorder):
    sid = pay_delayed(sandbox, client)
    recorder.calls.clear()
    events = sandbox.settle_async_payment(sid)
    assert [e["type"] for e in events] == ["checkout.session.async_payment_succeeded"]
    (ev,) = delivered(recorder)
    assert ev.type == "checkout.session.async_payment_succeeded"
    assert (ev.data.object.id, ev.data.object.payment_status) == (sid, "paid")
    pi = client.v1.payment_intents.retrieve(ev.data.object.payment_intent)
    assert (pi.status, pi.amount_received) == ("succeeded", 3000)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.status, charge.amount, charge.metadata.to_dict()) == (
        "succeeded",
        3000,
        {"order_id": "42"},
    )
    with pytest.raises(SandboxError):  # settles once
        sandbox.settle_async_payment(sid, succeed=False)
    assert len(sandbox.events) == 2


def test_async_payment_fails_later(sandbox, client, recorder):
    sandbox.set_knobs({"emit_payment_events": True})
    sid = pay_delayed(sandbox, client)
    recorder.calls.clear()
    resp = requests.post(
        f"{sandbox.url}/_sandbox/sessions/{sid}/async_payment",
        json={"outcome": "failed"},
        timeout=5,
    )
    assert resp.status_code == 200
    assert [e.type for e in delivered(recorder)] == [
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ]
    session = client.v1.checkout.sessions.retrieve(sid)
    assert (session.status, session.payment_status) == ("complete", "unpaid")
    pi = client.v1.payment_intents.retrieve(session.payment_intent)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.decline_code == "insufficient_funds"
    again = requests.post(
        f"{sandbox.url}/_sandbox/sessions/{sid}/async_payment", json={}, timeout=5
    )
    assert again.status_code == 409


def test_only_a_waiting_delayed_payment_can_settle(sandbox, client):
    paid = client.v1.checkout.sessions.create(session_params())
    sandbox.complete_session(paid.id)
    open_ = client.v1.checkout.sessions.create(session_params())
    before = len(sandbox.events)
    for sid in (paid.id, open_.id):
        with pytest.raises(SandboxError):
            sandbox.settle_async_payment(sid)
    assert len(sandbox.events) == before
    r = requests.post(f"{sandbox.url}/_sandbox/sessions/cs_nope/async_payment", timeout=5)
    assert r.status_code == 404
    bad = requests.post(
        f"{sandbox.url}/_sandbox/sessions/{paid.id}/async_payment",
        data=json.dumps({"outcome": "maybe"}),
        timeout=5,
    )
    assert bad.status_code == 400


def test_subscription_pay_page_offers_no_delayed_method(sandbox, client):
    s = client.v1.checkout.sessions.create(
        session_params(
            mode="subscription",
            line_items=[{"price": "price_mc_4gb_monthly", "quantity": 1}],
            payment_intent_data=None,
        )
    )
    page = requests.get(f"{sandbox.url}/pay/{s.id}", timeout=5)
    assert 'value="delayed"' not in page.text
    resp = requests.post(  # the choice is ignored: subscriptions complete paid
        f"{sandbox.url}/pay/{s.id}",
        data={"payment_method": "delayed"},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 303
    assert client.v1.checkout.sessions.retrieve(s.id).payment_status == "paid"


def test_expire_refuses_a_complete_session(sandbox, client, recorder):
    s = client.v1.checkout.sessions.create(session_params())
    sandbox.complete_session(s.id)
    before = len(sandbox.events)
    recorder.calls.clear()
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.expire(s.id)
    assert err.value.http_status == 400
    assert err.value.user_message == (
        'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
        'Session has a status of "complete".'
    )
    assert client.v1.checkout.sessions.retrieve(s.id).status == "complete"
    assert len(sandbox.events) == before and recorder.calls == []
