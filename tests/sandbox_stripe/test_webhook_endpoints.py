"""Webhook endpoints as objects (stripe/_webhook_endpoint.py): CRUD through the real SDK,
per-endpoint enabled_events, secrets and api_version; the Stripe-Version header."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from sandbox.stripe import API_VERSION, StripeSandbox

from .conftest import API_KEY, PRICES, SECRET, Receiver, make_client, session_params

OLD_VERSION = "2025-03-31.basil"


class UrlRecorder:
    """A ``deliver`` callback that also learns the endpoint URL of each delivery."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.status_by_url: dict[str, int] = {}

    def __call__(self, body: str, header: str, *, url: str) -> int:
        self.calls.append((url, body, header))
        return self.status_by_url.get(url, 200)

    def types_for(self, url: str) -> list[str]:
        return [json.loads(b)["type"] for u, b, _ in self.calls if u == url]


@pytest.fixture
def urls() -> UrlRecorder:
    return UrlRecorder()


@pytest.fixture
def bare(urls: UrlRecorder):
    """No default endpoint: the product's stripe_setup is expected to create its own."""
    sb = StripeSandbox(api_key=API_KEY, deliver=urls, prices=PRICES, default_endpoint=False)
    sb.serve()
    yield sb
    sb.shutdown()


def test_crud_and_secret_only_on_create(bare):
    client = make_client(bare.url)
    assert client.v1.webhook_endpoints.list().data == []
    made = client.v1.webhook_endpoints.create(
        {
            "url": "https://shop.test/api/stripe/webhook",
            "enabled_events": ["checkout.session.completed", "charge.refunded"],
            "api_version": API_VERSION,
            "description": "GIVRwrld",
            "metadata": {"installation": "abc"},
        }
    )
    assert made.id.startswith("we_") and made.secret.startswith("whsec_")
    assert (made.status, made.api_version, made.livemode) == ("enabled", API_VERSION, False)
    assert made.enabled_events == ["checkout.session.completed", "charge.refunded"]
    got = client.v1.webhook_endpoints.retrieve(made.id)
    assert "secret" not in got.to_dict()
    assert set(got.to_dict()) == set(made.to_dict()) - {"secret"}
    listed = client.v1.webhook_endpoints.list()
    assert [w.id for w in listed.data] == [made.id] and "secret" not in listed.data[0]
    updated = client.v1.webhook_endpoints.update(
        made.id, {"enabled_events": ["*"], "disabled": True, "metadata": {"installation": ""}}
    )
    assert (updated.enabled_events, updated.status) == (["*"], "disabled")
    assert updated.metadata.to_dict() == {} and "secret" not in updated.to_dict()
    assert bare.endpoint_secret(made.id) == made.secret  # unchanged by updates
    deleted = client.v1.webhook_endpoints.delete(made.id)
    assert (deleted.id, deleted.deleted) == (made.id, True)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.webhook_endpoints.retrieve(made.id)
    assert err.value.http_status == 404 and err.value.code == "resource_missing"


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"enabled_events": ["*"]}, "url", "Missing required param: url."),
        ({"url": "https://x.test/h"}, "enabled_events", "Missing required param: enabled_events."),
        (
            {"url": "ftp://x.test/h", "enabled_events": ["*"]},
            "url",
            "Invalid URL: ftp://x.test/h",
        ),
        (
            {"url": "https://x.test/h", "enabled_events": ["*"], "api_version": "2099-01-01"},
            "api_version",
            None,
        ),
        (
            {"url": "https://x.test/h", "enabled_events": ["checkout.session.paid"]},
            "enabled_events[0]",
            None,
        ),
        (
            {"url": "https://x.test/h", "enabled_events": ["*"], "secret": "whsec_mine"},
            "secret",
            "Received unknown parameter: secret",
        ),
    ],
)
def test_create_refusals_change_nothing(bare, params: dict[str, Any], param, message):
    client = make_client(bare.url)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.webhook_endpoints.create(params)  # type: ignore[arg-type]
    assert err.value.param == param
    if message is not None:
        assert err.value.user_message == message
    else:
        assert err.value.user_message.startswith(f"Invalid {param}: must be one of ")
    assert bare.webhook_endpoints == {}


def test_at_most_16_endpoints(bare):
    client = make_client(bare.url)
    for i in range(16):
        client.v1.webhook_endpoints.create({"url": f"https://x.test/{i}", "enabled_events": ["*"]})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.webhook_endpoints.create({"url": "https://x.test/17", "enabled_events": ["*"]})
    assert "maximum of 16" in err.value.user_message
    assert len(bare.webhook_endpoints) == 16


def test_each_endpoint_gets_its_events_signed_with_its_secret_at_its_version(bare, urls):
    client = make_client(bare.url)
    bare.set_knobs({"emit_payment_events": True})
    only = client.v1.webhook_endpoints.create(
        {
            "url": "https://shop.test/only-completed",
            "enabled_events": ["checkout.session.completed"],
        }
    )
    old = client.v1.webhook_endpoints.create(
        {"url": "https://shop.test/old", "enabled_events": ["*"], "api_version": OLD_VERSION}
    )
    off = client.v1.webhook_endpoints.create(
        {"url": "https://shop.test/off", "enabled_events": ["*"]}
    )
    client.v1.webhook_endpoints.update(off.id, {"disabled": True})
    s = client.v1.checkout.sessions.create(session_params())  # type: ignore[arg-type]
    bare.complete_session(s.id)

    assert urls.types_for(only.url) == ["checkout.session.completed"]
    assert urls.types_for(old.url) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    assert urls.types_for(off.url) == []
    for url, body, header in urls.calls:
        secret = only.secret if url == only.url else old.secret
        other = old.secret if url == only.url else only.secret
        event = stripe.Webhook.construct_event(body, header, secret)
        # the account default (null api_version) is the sandbox's pinned version
        assert event.api_version == (OLD_VERSION if url == old.url else API_VERSION)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, header, other)
    completed = client.v1.events.list({"type": "checkout.session.completed"}).data[0]
    assert completed.api_version == API_VERSION and completed.pending_webhooks == 0


def test_pending_webhooks_redelivery_and_late_endpoints(bare, urls):
    client = make_client(bare.url)
    a = bare.add_webhook_endpoint("https://a.test/h", secret="whsec_a")
    b = bare.add_webhook_endpoint("https://b.test/h", enabled_events=["checkout.session.expired"])
    urls.status_by_url[b["url"]] = 500
    s = client.v1.checkout.sessions.create(session_params())  # type: ignore[arg-type]
    client.v1.checkout.sessions.expire(s.id)
    ev = client.v1.events.list({"type": "checkout.session.expired"}).data[0]
    assert ev.pending_webhooks == 1  # b failed
    assert [e.id for e in client.v1.events.list({"delivery_success": False}).data] == [ev.id]
    late = bare.add_webhook_endpoint("https://late.test/h")  # not sent events from before it
    urls.status_by_url[b["url"]] = 200
    urls.calls.clear()
    assert bare.redeliver_failed() == {ev.id: 200}
    assert [u for u, _, _ in urls.calls] == [b["url"]]
    assert client.v1.events.retrieve(ev.id).pending_webhooks == 0
    assert [e.id for e in client.v1.events.list({"delivery_success": True}).data] == [ev.id]
    assert late["id"] not in bare.event_targets[ev.id]
    urls.calls.clear()
    assert bare.redeliver(ev.id, endpoint=a["id"]) == 200  # the Dashboard's "Resend"
    assert [u for u, _, _ in urls.calls] == [a["url"]]
    assert [d["endpoint"] for d in bare.deliveries] == [a["id"], b["id"], b["id"], a["id"]]


def test_default_endpoint_from_webhook_url_over_http():
    first, second = Receiver(), Receiver()
    sb = StripeSandbox(api_key=API_KEY, webhook_secret=SECRET, webhook_url=first.url, prices=PRICES)
    url = sb.serve()
    try:
        client = make_client(url)
        (default,) = client.v1.webhook_endpoints.list().data
        assert (default.url, default.enabled_events, default.api_version) == (
            first.url,
            ["*"],
            API_VERSION,
        )
        assert sb.endpoint_secret(default.id) == SECRET
        extra = client.v1.webhook_endpoints.create(
            {"url": second.url, "enabled_events": ["checkout.session.expired"]}
        )
        s = client.v1.checkout.sessions.create(session_params())  # type: ignore[arg-type]
        client.v1.checkout.sessions.expire(s.id)
        (one,) = first.requests
        (two,) = second.requests
        assert one["body"] != two["body"] or one["headers"] != two["headers"]
        stripe.Webhook.construct_event(one["body"], one["headers"]["Stripe-Signature"], SECRET)
        stripe.Webhook.construct_event(
            two["body"], two["headers"]["Stripe-Signature"], extra.secret
        )
    finally:
        sb.shutdown()
        first.close()
        second.close()


def test_stripe_version_header_is_validated(bare):
    bad = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": bare.url},
        stripe_version="2099-01-01.nope",
        http_client=stripe.RequestsClient(timeout=5),
    )
    before = len(bare.requests)
    with pytest.raises(stripe.InvalidRequestError) as err:
        bad.v1.checkout.sessions.create(session_params())  # type: ignore[arg-type]
    assert err.value.user_message == "Invalid Stripe API version: 2099-01-01.nope"
    assert (err.value.http_status, err.value.code, err.value.param) == (400, None, None)
    assert bare.sessions == {} and len(bare.requests) == before + 1
    older = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": bare.url},
        stripe_version=OLD_VERSION,
        http_client=stripe.RequestsClient(timeout=5),
    )
    assert older.v1.checkout.sessions.create(session_params()).status == "open"  # type: ignore[arg-type]
