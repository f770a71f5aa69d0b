"""Idempotency keys are unique per installation and per attempt: two installations (a
database reset gives a new one, order numbers start again) on one Stripe account each sell 5
servers with no idempotency error; cancel -> resume -> cancel works twice in a row, from the
API and from the order page, CSRF-protected and for the owner only."""

from __future__ import annotations

import re

import pytest
from billingkit import Browser, buy
from django.core.management import call_command
from testkit import run_worker

from billing.idempotency import installation_id
from billing.models import Order, OrderEvent
from catalog.services import catalog_load_demo
from catalog.sync import catalog_sync
from core.secrets import secret_set
from panel.client import PanelClient

pytestmark = pytest.mark.django_db(transaction=True)


def _sell_five(sb, email: str) -> list[Order]:
    browser = Browser(email)
    return [buy(browser, sb, server_name=f"server {n}") for n in range(5)]


def _session_creates(sb) -> int:
    return sum(1 for m, p in sb.requests if (m, p) == ("POST", "/v1/checkout/sessions"))


def _fresh_installation(panel, settings, prefix: str) -> str:
    """An empty database (flushed: ids start at 1 again) set up as an operator does, on the
    same Stripe account and panel. Installations sharing a panel need their own external-id
    prefix (docs/operators.md)."""
    call_command("flush", interactive=False, verbosity=0)
    settings.PANEL_EXTERNAL_ID_PREFIX = prefix
    secret_set(name="panel.PANEL_URL", value=panel.url)
    secret_set(name="panel.PANEL_APP_KEY", value=panel.app_key)
    secret_set(name="panel.PANEL_CLIENT_KEY", value=panel.client_key)
    with PanelClient.from_settings() as client:
        catalog_sync(client=client)
    catalog_load_demo()
    return installation_id()


def test_two_installations_on_one_account(catalog, stripe_sandbox, settings):
    first_installation = _fresh_installation(catalog, settings, "givrwrld-first")
    first = _sell_five(stripe_sandbox, "anna@example.com")
    second_installation = _fresh_installation(catalog, settings, "givrwrld-second")
    second = _sell_five(stripe_sandbox, "bert@example.com")

    assert first_installation != second_installation
    assert [o.pk for o in first] == [o.pk for o in second]  # the old keys would collide
    assert len({o.stripe_session_id for o in first + second}) == 10
    assert _session_creates(stripe_sandbox) == 10  # none replayed, none refused
    keys = sorted(stripe_sandbox.idempotency)
    assert keys == sorted(
        f"givrwrld-{inst}-order-{o.pk}-checkout-session-1"
        for inst, orders in ((first_installation, first), (second_installation, second))
        for o in orders
    )


def _sub_updates(sb) -> int:
    return sum(1 for m, p in sb.requests if m == "POST" and p.startswith("/v1/subscriptions/"))


def test_cancel_resume_cancel_twice_in_a_row(catalog, stripe_sandbox, monthly, alice):
    order = buy(alice, stripe_sandbox, plan="minecraft-4gb")
    sub = stripe_sandbox.subscriptions[order.stripe_subscription_id]
    updates = _sub_updates(stripe_sandbox)
    for step, (action, cancelled) in enumerate(
        [("cancel", True), ("resume", False)] * 2 + [("cancel", True)], start=1
    ):
        response = alice.post(f"/api/servers/{order.pk}/{action}")
        assert response.status_code == 200, response.content
        assert response.json()["cancel_at_period_end"] is cancelled
        run_worker()
        assert sub["cancel_at_period_end"] is cancelled, step  # Stripe really changed
        order.refresh_from_db()
        assert (order.cancel_at_period_end, order.status) == (cancelled, "provisioned")
        assert _sub_updates(stripe_sandbox) == updates + step
    keys = [k for k in stripe_sandbox.idempotency if "-cancel-" in k or "-resume-" in k]
    assert len(keys) == 5  # a fresh key for each request

    # A second click on the same state is refused and sends nothing.
    again = alice.post(f"/api/servers/{order.pk}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "already_cancelled")
    assert _sub_updates(stripe_sandbox) == updates + 5


def test_resume_from_the_order_page(catalog, stripe_sandbox, monthly, alice):
    order = buy(alice, stripe_sandbox, plan="minecraft-4gb")
    page = alice.client.get(f"/orders/{order.pk}").content.decode()
    assert 'id="resume"' not in page
    # The confirmation step, then the confirmed cancel (storefront/server_actions.py).
    assert alice.form(f"/orders/{order.pk}/actions/cancel", {"confirm": "yes"}).status_code == 302
    page = alice.client.get(f"/orders/{order.pk}").content.decode()
    assert re.search(r'action="/orders/\d+/actions/resume"', page)
    assert 'id="resume"' in page
    notes = OrderEvent.objects.filter(order=order).count()

    # Without the CSRF token: refused, nothing sent to Stripe, nothing changed.
    updates = _sub_updates(stripe_sandbox)
    assert alice.form(f"/orders/{order.pk}/actions/resume", {}, csrf=False).status_code == 403
    # Another customer: not their order.
    mallory = Browser("mallory@example.com")
    response = mallory.form(f"/orders/{order.pk}/actions/resume", {})
    assert response.status_code == 302
    assert _sub_updates(stripe_sandbox) == updates
    order.refresh_from_db()
    assert order.cancel_at_period_end is True
    assert OrderEvent.objects.filter(order=order).count() == notes

    response = alice.form(f"/orders/{order.pk}/actions/resume", {})
    assert response.status_code == 302
    run_worker()
    order.refresh_from_db()
    assert order.cancel_at_period_end is False
    assert (
        stripe_sandbox.subscriptions[order.stripe_subscription_id]["cancel_at_period_end"] is False
    )
    page = alice.client.get(f"/orders/{order.pk}").content.decode()
    assert 'id="resume"' not in page
    assert "Renews on" in page
