"""The hosted Pay page over HTTP and signed webhook deliveries."""

from __future__ import annotations

import json

import pytest
import requests
import stripe

from sandbox.stripe import SandboxError, StripeSandbox

from .conftest import SECRET, make_client, session_params


def test_pay_flow_delivers_signed_completed_event(http_sandbox: StripeSandbox, receiver):
    client = make_client(http_sandbox.url)
    s = client.v1.checkout.sessions.create(session_params())

    page = requests.get(s.url, timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert "TEST MODE" in html
    assert "Minecraft 4 GB" in html
    assert "$30.00" in html
    assert "alex@example.com" in html
    assert f'<form method="post" action="/pay/{s.id}">' in html
    assert '<button type="submit">Pay $30.00</button>' in html
    assert 'href="https://shop.test/checkout/cancel?order=42"' in html
    assert "<script" not in html

    paid = requests.post(
        s.url, data={"email": "alex@example.com"}, allow_redirects=False, timeout=5
    )
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"https://shop.test/checkout/success?session_id={s.id}"

    assert len(receiver.requests) == 1
    delivery = receiver.requests[0]
    assert delivery["path"] == "/api/stripe/webhook"
    assert delivery["headers"]["Content-Type"] == "application/json; charset=utf-8"
    header = delivery["headers"]["Stripe-Signature"]
    event = stripe.Webhook.construct_event(delivery["body"], header, SECRET, tolerance=300)
    assert event.type == "checkout.session.completed"
    assert event.api_version == "2026-10-28.endive"
    assert event.livemode is False
    obj = event.data.object
    assert isinstance(obj, stripe.checkout.Session)
    assert obj.id == s.id
    assert obj.status == "complete"
    assert obj.payment_status == "paid"
    assert obj.client_reference_id == "order_42"
    assert obj.metadata.to_dict() == {"order_id": "42", "plan": "mc-4gb"}
    assert obj.amount_total == 3000
    assert obj.url is None
    assert obj.customer_details.email == "alex@example.com"
    assert obj.payment_intent.startswith("pi_")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery["body"], header, "whsec_wrong")

    assert [(d["event_id"], d["status"], d["ok"]) for d in http_sandbox.deliveries] == [
        (event.id, 200, True)
    ]
    # the fulfilment function re-reads the session from the API
    again = client.v1.checkout.sessions.retrieve(s.id, {"expand": ["line_items"]})
    assert (again.status, again.payment_status, again.payment_intent) == (
        "complete",
        "paid",
        obj.payment_intent,
    )
    assert client.v1.events.retrieve(event.id).pending_webhooks == 0


def test_second_pay_does_not_emit_a_second_event(http_sandbox: StripeSandbox, receiver):
    s = make_client(http_sandbox.url).v1.checkout.sessions.create(session_params())
    first = requests.post(s.url, allow_redirects=False, timeout=5)
    assert first.status_code == 303
    second = requests.post(s.url, allow_redirects=False, timeout=5)
    assert second.status_code == 409
    assert "already been completed" in second.text
    assert f"session_id={s.id}" in second.text  # link back to the success page
    again = requests.get(s.url, timeout=5)
    assert again.status_code == 409
    assert '<button type="submit">' not in again.text
    assert [e["type"] for e in http_sandbox.events] == ["checkout.session.completed"]
    assert len(receiver.requests) == 1
    with pytest.raises(SandboxError):
        http_sandbox.complete_session(s.id)


def test_paying_an_expired_session_shows_a_message(sandbox: StripeSandbox, recorder):
    s = make_client(sandbox.url).v1.checkout.sessions.create(session_params())
    sandbox.expire_session(s.id)
    r = requests.post(f"{sandbox.url}/pay/{s.id}", allow_redirects=False, timeout=5)
    assert r.status_code == 410
    assert "has expired" in r.text
    assert [e["type"] for e in sandbox.events] == ["checkout.session.expired"]
    assert requests.get(f"{sandbox.url}/pay/cs_test_nope", timeout=5).status_code == 404


def test_webhooks_disabled_records_but_does_not_deliver(sandbox: StripeSandbox, recorder):
    client = make_client(sandbox.url)
    sandbox.webhooks_enabled = False
    s = client.v1.checkout.sessions.create(session_params())
    r = requests.post(s.url, allow_redirects=False, timeout=5)
    assert r.status_code == 303
    assert recorder.calls == []
    assert sandbox.deliveries == []
    assert [e["type"] for e in sandbox.events] == ["checkout.session.completed"]
    event_id = sandbox.events[0]["id"]

    # reconciliation: the event is listed and still pending
    missed = client.v1.events.list(
        {"type": "checkout.session.completed", "delivery_success": False}
    )
    assert [e.id for e in missed.data] == [event_id]
    assert missed.data[0].pending_webhooks == 1
    assert missed.data[0].data.object.id == s.id

    sandbox.webhooks_enabled = True
    assert sandbox.redeliver(event_id) == 200
    body, header = recorder.calls[0]
    assert stripe.Webhook.construct_event(body, header, SECRET).id == event_id
    assert client.v1.events.list({"delivery_success": False}).data == []


def test_failed_delivery_is_recorded_and_redelivery_re_signs(sandbox: StripeSandbox, recorder):
    clock = [1_800_000_000.0]
    sandbox.clock = lambda: clock[0]
    recorder.status = 500
    s = make_client(sandbox.url).v1.checkout.sessions.create(session_params())
    event = sandbox.complete_session(s.id)
    assert [(d["status"], d["ok"]) for d in sandbox.deliveries] == [(500, False)]
    recorder.status = 200
    clock[0] += 60
    assert sandbox.redeliver(event["id"]) == 200
    (body1, header1), (body2, header2) = recorder.calls
    assert body1 == body2
    assert json.loads(body1)["id"] == event["id"]
    assert header1.startswith("t=1800000000,") and header2.startswith("t=1800000060,")
    assert [d["created"] for d in sandbox.deliveries] == [1_800_000_000, 1_800_000_060]


def test_http_delivery_counts_redirects_and_refusals_as_failures(receiver):
    receiver.status = 301
    sb = StripeSandbox(webhook_secret=SECRET, webhook_url=receiver.url)
    event = sb.make_event("checkout.session.completed", {"id": "cs_test_x", "object": "x"})
    assert sb.deliver(event) == 301
    receiver.close()
    dead = StripeSandbox(webhook_secret=SECRET, webhook_url=receiver.url)
    assert dead.deliver(dead.make_event("ping", {"id": "x"})) == 0
    assert dead.deliveries[0]["ok"] is False
    assert dead.deliveries[0]["error"]


def test_sessions_expire_by_the_injected_clock(recorder):
    clock = [1_800_000_000.0]
    sb = StripeSandbox(
        webhook_secret=SECRET,
        deliver=recorder,
        clock=lambda: clock[0],
        prices=[{"id": "price_a", "unit_amount": 100, "product_name": "A"}],
    )
    s = sb.create_session(
        {
            "mode": "payment",
            "line_items": [{"price": "price_a", "quantity": "1"}],
            "success_url": "https://shop.test/ok",
            "expires_at": str(1_800_000_000 + 1800),
        }
    )
    assert s["expires_at"] == 1_800_001_800
    clock[0] += 1799
    assert sb.sweep_expired() == []
    clock[0] += 1
    events = sb.sweep_expired()
    assert [e["type"] for e in events] == ["checkout.session.expired"]
    assert sb.sessions[s["id"]]["status"] == "expired"
    assert len(recorder.calls) == 1
    assert recorder.calls[0][1].startswith("t=1800001800,")


def test_payment_events_knob_emits_pi_and_charge_events(sandbox: StripeSandbox, recorder):
    sandbox.set_knobs({"emit_payment_events": True})
    s = make_client(sandbox.url).v1.checkout.sessions.create(session_params())
    sandbox.complete_session(s.id)
    assert [e["type"] for e in sandbox.events] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    assert len(recorder.calls) == 4


def test_unpaid_completion_for_delayed_payment_methods(sandbox: StripeSandbox):
    s = make_client(sandbox.url).v1.checkout.sessions.create(session_params())
    event = sandbox.complete_session(s.id, payment_status="unpaid", deliver=False)
    obj = event["data"]["object"]
    assert (obj["status"], obj["payment_status"]) == ("complete", "unpaid")
    pi = sandbox.payment_intents[obj["payment_intent"]]
    assert (pi["status"], pi["amount_received"], pi["latest_charge"]) == ("processing", 0, None)
