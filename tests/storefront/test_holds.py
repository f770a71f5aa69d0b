"""Holds (issue 13, point 1): a checkout holds its capacity until its Checkout Session's
expires_at; Cancel expires the session at Stripe and frees the hold at once; one customer holds
at most CHECKOUT_MAX_UNPAID; checkout creation is rate limited per customer and per address."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from testkit import checkout, csrf_client, make_customer

from billing.models import Order, OrderEvent
from billing.services import EXPIRY_MARGIN_SECONDS
from catalog.models import Plan, Region
from catalog.selectors import region_stock

pytestmark = pytest.mark.checkout_limits


# The sandbox delivers checkout.session.expired while answering the expire request, to the
# webhook view on another thread: these tests commit as they go (as production does), so that
# delivery is not blocked behind the test's own open transaction.
_COMMITTING = pytest.mark.django_db(transaction=True)


def _stock(plan: str = "minecraft-2gb", region: str = "us-east") -> int:
    return region_stock(region=Region.objects.get(slug=region), plan=Plan.objects.get(slug=plan))


def test_the_hold_lasts_thirty_minutes_and_is_the_sessions_expiry(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    before = int(timezone.now().timestamp())
    response = checkout(client)
    after = int(timezone.now().timestamp())
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    session = stripe_sandbox.sessions[order.stripe_session_id]
    assert session["expires_at"] == int(order.hold_expires_at.timestamp())
    # 30 minutes (the setting's default, Stripe's minimum) plus the travel margin.
    assert before + 1800 + EXPIRY_MARGIN_SECONDS <= session["expires_at"]
    assert session["expires_at"] <= after + 1800 + EXPIRY_MARGIN_SECONDS
    assert response.json()["hold_expires_at"] is not None
    assert order.checkout_url == session["url"] == response.json()["checkout_url"]


@_COMMITTING
def test_cancel_expires_the_session_and_frees_the_hold_at_once(catalog, stripe_sandbox, customer):
    _, client = customer
    full = _stock()
    order_id = checkout(client).json()["order_id"]
    assert _stock() == full - 1
    order = Order.objects.get(pk=order_id)
    # Stripe's cancel_url: "Cancel and return to the shop".
    page = client.get(f"/orders/{order_id}/cancel")
    assert page.status_code == 200
    html = page.content.decode()
    assert "back on sale" in html
    assert "Waiting for the payment confirmation" not in html
    order.refresh_from_db()
    assert (order.status, order.allocation_id) == ("cancelled", None)
    assert stripe_sandbox.sessions[order.stripe_session_id]["status"] == "expired"
    assert _stock() == full
    # Stripe's checkout.session.expired came too (the sandbox delivers it): changes nothing.
    assert OrderEvent.objects.filter(order=order, to_status="cancelled").count() == 1
    # Its order page says cancelled, never "waiting".
    order_page = client.get(f"/orders/{order_id}").content.decode()
    assert "has been cancelled; nothing was charged" in order_page
    assert "Waiting for the payment confirmation" not in order_page
    # A second visit of the cancel page is harmless.
    assert client.get(f"/orders/{order_id}/cancel").status_code == 200
    assert OrderEvent.objects.filter(order=order, to_status="cancelled").count() == 1


def test_cancel_page_of_someone_elses_order_is_404_and_changes_nothing(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    order_id = checkout(client).json()["order_id"]
    _, mallory = make_customer("mallory@example.com")
    assert mallory.get(f"/orders/{order_id}/cancel").status_code == 404
    assert mallory.post(f"/api/checkouts/{order_id}/cancel").status_code == 404
    order = Order.objects.get(pk=order_id)
    assert order.status == "pending" and order.allocation_id is not None
    assert stripe_sandbox.sessions[order.stripe_session_id]["status"] == "open"


def test_expired_webhook_frees_the_hold(catalog, stripe_sandbox, customer):
    _, client = customer
    full = _stock()
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    stripe_sandbox.expire_session(order.stripe_session_id)  # delivers checkout.session.expired
    order.refresh_from_db()
    assert (order.status, order.allocation_id) == ("cancelled", None)
    assert _stock() == full


def test_third_unpaid_checkout_is_refused_with_a_link_to_complete_payment(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    first = checkout(client, server_name="one").json()
    checkout(client, server_name="two")
    stock = _stock()
    orders = Order.objects.count()
    response = checkout(client, server_name="three")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "hold_limit"
    assert body["pending_order_id"] == first["order_id"]
    assert body["complete_url"] == first["checkout_url"]
    assert "2 unpaid checkouts" in body["detail"]
    assert (Order.objects.count(), _stock()) == (orders, stock)
    # Another customer is not affected.
    _, bob = make_customer("bob@example.com")
    assert checkout(bob).status_code == 201


def test_buy_page_shows_the_hold_limit_with_complete_payment(catalog, stripe_sandbox, customer):
    _, client = customer
    first = checkout(client, server_name="one").json()
    checkout(client, server_name="two")
    response = client.post(
        "/buy/minecraft-2gb",
        {"server_name": "three", "region": "us-east", "var_MINECRAFT_VERSION": "latest"},
        headers={"X-CSRFToken": "testcsrfsecretABCDEFGHIJKLMNOPQR"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert f'<a role="button" id="complete-payment" href="{first["checkout_url"]}">' in html
    assert "Complete payment" in html
    assert Order.objects.count() == 2


@_COMMITTING
def test_a_cancelled_checkout_no_longer_counts(catalog, stripe_sandbox, customer):
    _, client = customer
    first = checkout(client, server_name="one").json()["order_id"]
    checkout(client, server_name="two")
    assert client.post(f"/api/checkouts/{first}/cancel").json() == {
        "order_id": first,
        "status": "cancelled",
    }
    assert checkout(client, server_name="three").status_code == 201


def test_checkout_is_rate_limited_per_customer(catalog, stripe_sandbox, customer, settings):
    settings.CHECKOUT_MAX_UNPAID = 100
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "checkout": "3/m/user"}
    _, client = customer
    assert [checkout(client).status_code for _ in range(3)] == [201, 201, 201]
    orders = Order.objects.count()
    refused = checkout(client)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert Order.objects.count() == orders
    # The buy page says so too.
    page = client.post(
        "/buy/minecraft-2gb",
        {"server_name": "x", "region": "us-east", "var_MINECRAFT_VERSION": "latest"},
        headers={"X-CSRFToken": "testcsrfsecretABCDEFGHIJKLMNOPQR"},
    )
    assert page.status_code == 429
    assert "Too many checkout attempts" in page.content.decode()
    _, bob = make_customer("bob@example.com")
    assert checkout(bob).status_code == 201


def test_checkout_is_rate_limited_per_client_address_behind_the_proxy(
    catalog, stripe_sandbox, settings
):
    settings.CHECKOUT_MAX_UNPAID = 100
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "checkout": "2/m/ip"}
    clients = [make_customer(f"c{i}@example.com")[1] for i in range(3)]

    def from_address(client: Client, address: str) -> int:
        body = {"plan": "minecraft-2gb", "region": "us-east", "server_name": "s"}
        return client.post(
            "/api/checkout/session",
            data=json.dumps(body),
            content_type="application/json",
            headers={"X-Forwarded-For": address},
        ).status_code

    assert from_address(clients[0], "203.0.113.7") == 201
    assert from_address(clients[1], "203.0.113.7") == 201
    assert from_address(clients[2], "203.0.113.7") == 429  # a third account, same address
    assert from_address(clients[2], "198.51.100.9") == 201


def test_reconciler_releases_a_hold_that_never_got_its_session(catalog, stripe_sandbox, customer):
    from billing.services import order_reconcile_pending

    _, client = customer
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    Order.objects.filter(pk=order.pk).update(stripe_session_id=None)
    assert order_reconcile_pending(order_id=order.pk) == "no Checkout Session yet"
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    note = order_reconcile_pending(order_id=order.pk)
    assert note == "hold ended with no Checkout Session: order cancelled, port released"
    order.refresh_from_db()
    assert (order.status, order.allocation_id) == ("cancelled", None)


@pytest.mark.django_db(transaction=True)
def test_ten_rapid_clicks_hold_at_most_two(catalog, stripe_sandbox):
    """Ten parallel requests of one customer (ten tabs, a double-clicking mouse): exactly
    CHECKOUT_MAX_UNPAID checkouts succeed, the stock falls by exactly that, the rest 409."""
    user, _ = make_customer("alice@example.com")
    full = _stock()
    barrier = threading.Barrier(10)

    def click(_: int) -> int:
        client = csrf_client()
        client.force_login(user)
        barrier.wait()
        try:
            return checkout(client).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = sorted(pool.map(click, range(10)))
    assert codes == [201, 201] + [409] * 8
    assert Order.objects.filter(user=user, status="pending").count() == 2
    assert _stock() == full - 2


@pytest.mark.parametrize("seconds", [1800, 7200, 86400])
def test_every_allowed_hold_length_is_one_stripe_accepts(
    catalog, stripe_sandbox, customer, settings, seconds
):
    settings.CHECKOUT_EXPIRES_SECONDS = seconds
    _, client = customer
    before = int(timezone.now().timestamp())
    response = checkout(client)
    after = int(timezone.now().timestamp())
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    expected = min(seconds + EXPIRY_MARGIN_SECONDS, 86400)
    assert before + expected <= order.hold_expires_at.timestamp() <= after + expected
    assert stripe_sandbox.sessions[order.stripe_session_id]["expires_at"] == int(
        order.hold_expires_at.timestamp()
    )
