"""`manage.py stripe_setup` makes this installation's webhook endpoint (API_URL + the webhook
path, exactly the handled events, the pinned API version) and prints its secret; `manage.py
doctor` reads the account's endpoints and fails naming what is wrong. On a fresh sandbox
account with no endpoint, as a new operator starts."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from billingkit import Browser, buy
from django.core.management import CommandError, call_command

from billing.events import HANDLED_EVENTS, PINNED_API_VERSION
from catalog.demo import stripe_prices
from sandbox.stripe import StripeSandbox

pytestmark = pytest.mark.django_db(transaction=True)

URL = "http://testserver/api/stripe/webhook"  # settings_test's API_URL + the webhook path
CHECK = "This installation's Stripe webhook endpoint sends every handled event"


@pytest.fixture
def fresh_account(webhook_poster, settings) -> Iterator[StripeSandbox]:
    """A Stripe account with no webhook endpoint; every endpoint's deliveries reach our view."""
    sb = StripeSandbox(
        api_key=settings.STRIPE_SECRET_KEY,
        deliver=webhook_poster,
        prices=stripe_prices(),
        default_endpoint=False,
    )
    settings.STRIPE_API_BASE = sb.serve()
    settings.STRIPE_WEBHOOK_SECRET = "whsec_not_set_up_yet"
    yield sb
    sb.shutdown()


def _run(name: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command(name, stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def _doctor_fails() -> list[str]:
    out, _ = _run("doctor")
    return [
        line.removeprefix(f"FAIL: {CHECK}: ")
        for line in out.splitlines()
        if line.startswith(f"FAIL: {CHECK}")
    ]


def _sdk(settings: Any) -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )


def test_setup_then_doctor_then_a_disabled_event(catalog, fresh_account, settings):
    assert _doctor_fails() == [f"no Stripe webhook endpoint at {URL}: run `manage.py stripe_setup`"]

    out, error = _run("stripe_setup")

    assert error is None, out
    [endpoint] = fresh_account.webhook_endpoints.values()
    assert endpoint["url"] == URL
    assert endpoint["enabled_events"] == list(HANDLED_EVENTS)
    assert endpoint["api_version"] == PINNED_API_VERSION
    secret = fresh_account.endpoint_secret(endpoint["id"])
    assert f"STRIPE_WEBHOOK_SECRET={secret}\n" in out
    settings.STRIPE_WEBHOOK_SECRET = secret
    out, error = _run("doctor")
    assert error is None, out
    assert f"ok    {CHECK}" in out

    # The endpoint's events really reach us, signed with that secret: a purchase works.
    order = buy(Browser("bob@example.com"), fresh_account)
    assert order.status == "provisioned"

    # Someone unticks one event in the Dashboard.
    kept = [e for e in HANDLED_EVENTS if e != "charge.dispute.created"]
    _sdk(settings).v1.webhook_endpoints.update(endpoint["id"], {"enabled_events": kept})
    out, error = _run("doctor")
    assert error is not None
    assert _doctor_fails() == [
        f"endpoint {endpoint['id']} does not send charge.dispute.created: "
        "run `manage.py stripe_setup`"
    ]

    # stripe_setup puts it back, on the same endpoint: the secret does not change.
    out, error = _run("stripe_setup")
    assert error is None
    assert f"Webhook endpoint {endpoint['id']} updated" in out
    assert "STRIPE_WEBHOOK_SECRET=" not in out
    assert fresh_account.webhook_endpoints[endpoint["id"]]["enabled_events"] == list(HANDLED_EVENTS)
    assert _run("doctor")[1] is None


def test_doctor_names_a_wrong_version_and_a_disabled_endpoint(catalog, fresh_account, settings):
    old = fresh_account.add_webhook_endpoint(
        URL, enabled_events=list(HANDLED_EVENTS), api_version="2025-03-31.basil"
    )
    _sdk(settings).v1.webhook_endpoints.update(old["id"], {"disabled": True})
    assert _doctor_fails() == [
        f"endpoint {old['id']} is disabled: run `manage.py stripe_setup`",
        f"endpoint {old['id']} sends events at API version 2025-03-31.basil, this installation "
        f"reads {PINNED_API_VERSION}: run `manage.py stripe_setup` (it replaces the endpoint)",
    ]
    out, error = _run("stripe_setup")
    assert error is None
    # api_version cannot be updated (Stripe): a new endpoint, the old one deleted.
    [endpoint] = fresh_account.webhook_endpoints.values()
    assert endpoint["id"] != old["id"] and endpoint["api_version"] == PINNED_API_VERSION
    assert f"Deleted endpoint {old['id']} (same URL, replaced)." in out
    assert re.search(r"^STRIPE_WEBHOOK_SECRET=whsec_\w+$", out, re.M)
    assert _doctor_fails() == []


def test_another_installations_endpoint_is_left_alone(catalog, fresh_account):
    other = fresh_account.add_webhook_endpoint(
        "https://staging.example.com/api/stripe/webhook", enabled_events=["*"]
    )
    _run("stripe_setup")
    assert other["id"] in fresh_account.webhook_endpoints
    assert len(fresh_account.webhook_endpoints) == 2
