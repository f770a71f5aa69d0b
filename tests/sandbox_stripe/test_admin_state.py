"""Admin endpoint, knobs, persistence, event shape and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests
import stripe

from sandbox.stripe import StripeSandbox

from .conftest import PRICES, ROOT, SECRET, make_client, session_params

SHAPES = Path(__file__).parent / "shapes"


def test_admin_endpoint(sandbox: StripeSandbox, recorder):
    base = f"{sandbox.url}/_sandbox"
    assert requests.get(f"{base}/knobs", timeout=5).json() == {
        "webhooks_enabled": True,
        "error_rate": 0.0,
        "fail_next": 0,
        "emit_payment_events": False,
        "emit_noise_events": True,
        "retry_schedule_days": [3, 5, 7],
        "after_final_failure": "cancel",
        "email_receipts": False,
    }
    r = requests.put(f"{base}/knobs", json={"webhooks_enabled": False}, timeout=5)
    assert r.status_code == 200 and r.json()["webhooks_enabled"] is False
    assert sandbox.webhooks_enabled is False
    assert requests.put(f"{base}/knobs", json={"error_rate": 2}, timeout=5).status_code == 400
    assert requests.put(f"{base}/knobs", json={"nope": 1}, timeout=5).status_code == 400
    requests.put(f"{base}/knobs", json={"webhooks_enabled": True}, timeout=5)

    s = make_client(sandbox.url).v1.checkout.sessions.create(session_params())
    r = requests.post(f"{base}/sessions/{s.id}/complete", json={"deliver": False}, timeout=5)
    assert r.status_code == 200
    event = r.json()
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["id"] == s.id
    assert recorder.calls == []
    again = requests.post(f"{base}/sessions/{s.id}/complete", timeout=5)
    assert again.status_code == 409

    assert [e["id"] for e in requests.get(f"{base}/events", timeout=5).json()["data"]] == [
        event["id"]
    ]
    r = requests.post(f"{base}/events/{event['id']}/redeliver", timeout=5)
    assert r.json() == {"event_id": event["id"], "status": 200}
    deliveries = requests.get(f"{base}/deliveries", timeout=5).json()["data"]
    assert [(d["event_id"], d["status"]) for d in deliveries] == [(event["id"], 200)]
    assert requests.post(f"{base}/events/evt_nope/redeliver", timeout=5).status_code == 404
    # admin calls are not Stripe API calls
    assert sandbox.requests == [("POST", "/v1/checkout/sessions")]


def test_event_envelope_has_every_field_of_stripes_example(sandbox: StripeSandbox):
    event = sandbox.make_event(
        "customer.subscription.updated",
        {"id": "sub_1", "object": "subscription", "status": "past_due"},
        previous_attributes={"status": "active"},
    )
    example = json.loads((SHAPES / "event.json").read_text())
    assert set(event) == set(example)
    assert set(event["request"]) == set(example["request"])
    assert event["id"].startswith("evt_") and len(event["id"]) == 28
    assert event["api_version"] == "2026-10-28.endive"
    assert event["data"]["previous_attributes"] == {"status": "active"}
    assert event["created"] == sandbox.now()
    assert sandbox.events[-1] is event
    parsed = stripe.Webhook.construct_event(
        json.dumps(event), sandbox.sign(json.dumps(event)), SECRET
    )
    assert "previous_attributes" in parsed.data
    plain = sandbox.make_event("checkout.session.expired", {"id": "cs_1"})
    assert "previous_attributes" not in plain["data"]


def test_state_survives_a_restart(tmp_path, recorder):
    path = str(tmp_path / "stripe.json")
    first = StripeSandbox(webhook_secret=SECRET, deliver=recorder, prices=PRICES, state_path=path)
    session = first.create_session(session_params())
    event = first.complete_session(session["id"])
    first.set_knobs({"webhooks_enabled": False})

    second = StripeSandbox(webhook_secret=SECRET, prices=PRICES, state_path=path)
    assert second.sessions[session["id"]]["status"] == "complete"
    assert [e["id"] for e in second.events] == [event["id"]]
    assert len(second.deliveries) == 1
    assert second.webhooks_enabled is False
    assert set(second.prices) == {p["id"] for p in PRICES}
    pi_id = second.sessions[session["id"]]["payment_intent"]
    assert second.payment_intents[pi_id]["status"] == "succeeded"


def test_cli_serves_and_prints_its_url(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.stripe",
            "--port",
            "0",
            "--webhook-secret",
            SECRET,
            "--prices",
            str(prices),
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        price = make_client(url).v1.prices.retrieve("price_mc_4gb")
        assert price.unit_amount == 1500
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_endpoints_coupons_and_receipts_survive_a_restart(tmp_path, recorder):
    path = str(tmp_path / "stripe.json")
    first = StripeSandbox(webhook_secret=SECRET, deliver=recorder, prices=PRICES, state_path=path)
    extra = first.add_webhook_endpoint("https://x.test/h", enabled_events=["charge.refunded"])
    first.create_coupon({"id": "TEN", "percent_off": 10})
    first.set_knobs({"email_receipts": True})
    session = first.create_session(session_params())
    first.complete_session(session["id"])
    default_id = first.default_endpoint_id

    second = StripeSandbox(
        webhook_secret="whsec_rotated", deliver=recorder, prices=PRICES, state_path=path
    )
    assert second.default_endpoint_id == default_id  # reused, not duplicated
    assert set(second.webhook_endpoints) == {default_id, extra["id"]}
    assert second.endpoint_secret(default_id) == "whsec_rotated"  # follows the command line
    assert second.endpoint_secret(extra["id"]) == extra["secret"]
    assert second.coupons["TEN"]["percent_off"] == 10
    assert [r["to"] for r in second.receipts] == ["alex@example.com"]
    completed = second.events[-1]
    assert second.event_targets[completed["id"]] == [default_id]
    assert second.render_event(completed)["pending_webhooks"] == 0
