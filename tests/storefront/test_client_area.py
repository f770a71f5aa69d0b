"""The client area: live state (cached, parallel, fallback without a client key), power
(owner only, CSRF, suspended refused, rate limited, audited), the panel password (set on the
panel, nothing kept here, nothing logged), the receipt link and the JSON API's live fields.
Real flow: checkout -> Stripe sandbox -> webhook -> worker -> panel sandbox over HTTP."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from testkit import checkout, make_customer, run_worker

from billing.models import Order, OrderEvent
from core.secrets import secret_delete
from sandbox.panel.web import password_verify

pytestmark = pytest.mark.django_db(transaction=True)

POWER = "POST /api/client/servers/{server}/power"
RESOURCES = "GET /api/client/servers/{server}/resources"


@pytest.fixture(autouse=True)
def _fresh_reads(catalog: Any, settings: Any) -> None:
    # Every read reaches the panel sandbox's "Wings", so states move one step per read
    # (the caches have their own tests below).
    catalog.faults.resources_cache_seconds = 0
    settings.LIVE_STATE_CACHE_SECONDS = 0


def _buy(client: Client, stripe_sandbox: Any, plan: str = "minecraft-2gb") -> Order:
    response = checkout(client, plan=plan)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned", order.error_message
    return order


def _live(client: Client, order: Order) -> dict[str, Any]:
    response = client.get(f"/orders/{order.pk}/live")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    (server,) = response.json()["servers"]
    return server


def _panel_server(catalog: Any, order: Order) -> dict[str, Any]:
    return catalog.state.servers[order.ptero_server_id]


def _events(order: Order) -> list[tuple[str, str]]:
    return list(
        OrderEvent.objects.filter(order=order, reason__startswith="power").values_list(
            "actor", "reason"
        )
    )


def test_state_and_power_stop_then_start(catalog, stripe_sandbox, customer):
    user, client = customer
    order = _buy(client, stripe_sandbox)
    _panel_server(catalog, order)["power"] = "running"
    live = _live(client, order)
    assert (live["state"], live["label"], live["can_start"], live["can_stop"]) == (
        "running",
        "Running",
        False,
        True,
    )
    assert live["memory_limit_bytes"] == 2048 * 1024 * 1024
    assert live["memory_bytes"] == 2048 * 1024 * 1024 // 3
    assert live["usage_text"] == (
        "CPU 12.5% of 200% · Memory 683 MiB of 2048 MiB · Disk 150 MiB of 10240 MiB"
    )
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert f'data-live-url="/orders/{order.pk}/live"' in page
    assert 'data-state="running"' in page and "storefront/live.js" in page
    assert f'href="{catalog.url}/server/{order.ptero_identifier}"' in page
    assert "{#" not in page and "{% comment" not in page  # template comments never leak

    response = client.post(f"/orders/{order.pk}/power/stop", {"next": "/dashboard"})
    assert (response.status_code, response["Location"]) == (302, "/dashboard")
    assert _events(order) == [(f"customer:{user.pk}", "power stop")]
    assert [_live(client, order)["state"] for _ in "ab"] == ["stopping", "offline"]

    client.post(f"/orders/{order.pk}/power/start")
    assert [_live(client, order)["state"] for _ in "ab"] == ["starting", "running"]
    assert _events(order) == [
        (f"customer:{user.pk}", "power stop"),
        (f"customer:{user.pk}", "power start"),
    ]


def test_power_hint_covers_the_panels_stale_cache(catalog, stripe_sandbox, customer):
    """The panel keeps its 20 s resources cache across a power signal: we show the transition
    the signal started instead of the stale state."""
    catalog.faults.resources_cache_seconds = 20
    _, client = customer
    order = _buy(client, stripe_sandbox)
    _panel_server(catalog, order)["power"] = "running"
    assert _live(client, order)["state"] == "running"  # now cached on the panel
    client.post(f"/orders/{order.pk}/power/stop")
    assert _live(client, order)["state"] == "stopping"  # the panel still says running


@pytest.mark.parametrize("signal", ["stop", "kill"])
def test_another_customer_gets_404_and_nothing_happens(catalog, stripe_sandbox, customer, signal):
    _, client = customer
    order = _buy(client, stripe_sandbox)
    _panel_server(catalog, order)["power"] = "running"
    _, bob = make_customer("bob@example.com")
    catalog.reset_counters()
    assert bob.post(f"/orders/{order.pk}/power/{signal}").status_code == 404
    assert bob.get(f"/orders/{order.pk}/live").status_code == 404
    assert bob.post(f"/orders/{order.pk + 1000}/power/{signal}").status_code == 404
    assert catalog.counters() == {}
    assert _panel_server(catalog, order)["power"] == "running"
    assert _events(order) == []
    assert bob.get("/dashboard/live").json() == {"servers": []}


def test_power_needs_csrf_and_post(catalog, stripe_sandbox, customer):
    user, client = customer
    order = _buy(client, stripe_sandbox)
    plain = Client(enforce_csrf_checks=True)
    plain.force_login(user)
    catalog.reset_counters()
    assert plain.post(f"/orders/{order.pk}/power/start").status_code == 403
    assert client.get(f"/orders/{order.pk}/power/start").status_code == 405
    assert catalog.counters() == {}
    assert _events(order) == []


@pytest.mark.parametrize("signal", ["explode", "START", "start2", "🔥"])
def test_unknown_signal_refused(catalog, stripe_sandbox, customer, signal):
    _, client = customer
    order = _buy(client, stripe_sandbox)
    catalog.reset_counters()
    response = client.post(f"/orders/{order.pk}/power/{signal}")
    assert catalog.counters() == {}
    assert _events(order) == []
    if response.status_code == 302:
        assert "Unknown power action" in client.get(response["Location"]).content.decode()
    else:
        assert response.status_code == 404  # not a slug: no route


def test_suspended_server_refused_with_a_clear_message(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _buy(client, stripe_sandbox)
    Order.objects.filter(pk=order.pk).update(status="suspended", suspended_reason="billing")
    catalog.reset_counters()
    response = client.post(f"/orders/{order.pk}/power/start", follow=True)
    html = response.content.decode()
    assert "This server is suspended, so it cannot be started or stopped." in html
    assert "Power actions are unavailable while the server is suspended." in html
    assert POWER not in catalog.counters()
    assert _events(order) == []
    assert _live(client, order)["state"] == "suspended"


def test_panel_refusal_is_shown_and_audited(catalog, stripe_sandbox, customer):
    """Suspended on the panel but not here (an operator's hand): the panel's 409 text."""
    user, client = customer
    order = _buy(client, stripe_sandbox)
    _panel_server(catalog, order)["status"] = "suspended"
    response = client.post(f"/orders/{order.pk}/power/start", follow=True)
    assert "This server is currently suspended" in response.content.decode()
    assert _events(order) == [(f"customer:{user.pk}", "power start refused by the panel")]
    assert _live(client, order)["state"] == "suspended"


def test_power_rate_limited_per_customer(catalog, stripe_sandbox, customer, settings):
    settings.POWER_ACTIONS_PER_MINUTE = 2
    _, client = customer
    order = _buy(client, stripe_sandbox)
    catalog.reset_counters()
    for _ in range(2):
        client.post(f"/orders/{order.pk}/power/restart")
    response = client.post(f"/orders/{order.pk}/power/restart", follow=True)
    assert "Too many power actions: at most 2 a minute." in response.content.decode()
    assert catalog.counters()[POWER] == 2
    assert len(_events(order)) == 2
    # Another customer has their own budget.
    _, bob = make_customer("bob@example.com")
    bob_order = _buy(bob, stripe_sandbox)
    bob.post(f"/orders/{bob_order.pk}/power/restart")
    assert catalog.counters()[POWER] == 3


def test_installing_and_install_failed(catalog, stripe_sandbox, customer):
    catalog.faults.install_mode = "never"
    _, client = customer
    order = _buy(client, stripe_sandbox)
    assert _live(client, order)["state"] == "installing"
    _panel_server(catalog, order)["status"] = "install_failed"
    live = _live(client, order)
    assert (live["state"], live["label"], live["powerable"]) == (
        "install_failed",
        "Install failed",
        False,
    )


def test_no_client_key_pages_work_and_say_unavailable(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _buy(client, stripe_sandbox)
    secret_delete(name="panel.PANEL_CLIENT_KEY")
    catalog.reset_counters()
    html = client.get("/dashboard").content.decode()
    assert "State unavailable" in html and "Live state is not set up on this site." in html
    page = client.get(f"/orders/{order.pk}")
    assert page.status_code == 200 and "State unavailable" in page.content.decode()
    live = _live(client, order)
    assert (live["state"], live["detail"]) == (
        "unavailable",
        "Live state is not set up on this site.",
    )
    api = client.get("/api/servers").json()
    assert api[0]["live"]["state"] == "unavailable"
    assert catalog.counters() == {}
    # Power says why instead of a 500.
    response = client.post(f"/orders/{order.pk}/power/start", follow=True)
    assert "client API key not configured" in response.content.decode()


def test_panel_down_says_unavailable(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _buy(client, stripe_sandbox)
    catalog.faults.wings_down = True
    live = _live(client, order)
    assert (live["state"], live["detail"]) == (
        "unavailable",
        "The game panel is not answering right now.",
    )


def test_dashboard_of_several_servers_is_cached(catalog, stripe_sandbox, customer, settings):
    settings.LIVE_STATE_CACHE_SECONDS = 60
    _, client = customer
    orders = [_buy(client, stripe_sandbox) for _ in range(3)]
    catalog.reset_counters()
    html = client.get("/dashboard").content.decode()
    assert html.count('data-live-order="') == 3
    assert catalog.counters() == {RESOURCES: 3}
    body = client.get("/dashboard/live").json()
    assert sorted(s["order_id"] for s in body["servers"]) == sorted(o.pk for o in orders)
    client.get(f"/orders/{orders[0].pk}")
    assert catalog.counters() == {RESOURCES: 3}  # the cache served the rest
    # A power action forgets that server's entry, only that one.
    client.post(f"/orders/{orders[0].pk}/power/start")
    client.get("/dashboard/live")
    assert catalog.counters() == {RESOURCES: 4, POWER: 1}


def test_api_servers_carries_live_state_and_renewal(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _buy(client, stripe_sandbox, plan="minecraft-4gb")
    _panel_server(catalog, order)["power"] = "running"
    (server,) = client.get("/api/servers").json()
    assert server["live"]["state"] == "running"
    assert server["live"]["memory_limit_bytes"] == 4096 * 1024 * 1024
    assert server["renews_at"] is not None
    assert server["cancel_at_period_end"] is False and server["payment_failed"] is False
    one = client.get(f"/api/servers/{order.pk}").json()
    assert one["live"]["state"] == "running"


def test_panel_password_set_on_the_panel_never_kept_or_logged(
    catalog, stripe_sandbox, customer, caplog
):
    user, client = customer
    _buy(client, stripe_sandbox)
    user.refresh_from_db()
    secret = "Tr0ub4dor&3-zebra-🦓"
    caplog.set_level(logging.DEBUG)
    panel_user_before = dict(catalog.state.users[user.pterodactyl_user_id])
    response = client.post(
        "/account/panel-password", {"password": secret, "confirm": secret}, follow=True
    )
    assert "Your panel password is set." in response.content.decode()
    panel_user = catalog.state.users[user.pterodactyl_user_id]
    assert password_verify(secret, panel_user["password"])
    for field in ("email", "username", "name_first", "name_last", "external_id"):
        assert panel_user[field] == panel_user_before[field]
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert secret not in dump.getvalue()
    assert secret not in caplog.text
    assert secret not in response.content.decode()


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "Use at least 8 characters."),
        ("long-enough-1", "long-enough-2", "The two passwords differ."),
        ("x" * 73, "x" * 73, "Use at most 72 bytes"),
        ("é" * 37, "é" * 37, "Use at most 72 bytes"),
    ],
)
def test_panel_password_refusals_change_nothing(
    catalog, stripe_sandbox, customer, password, confirm, message
):
    user, client = customer
    _buy(client, stripe_sandbox)
    user.refresh_from_db()
    catalog.reset_counters()
    response = client.post(
        "/account/panel-password", {"password": password, "confirm": confirm}, follow=True
    )
    assert message in response.content.decode()
    assert catalog.counters() == {}
    assert "password" not in catalog.state.users[user.pterodactyl_user_id]


def test_panel_password_before_any_server(catalog, customer):
    _, client = customer
    response = client.post(
        "/account/panel-password", {"password": "abcdefgh1", "confirm": "abcdefgh1"}, follow=True
    )
    assert "Your panel account is created with your first server" in response.content.decode()
    assert catalog.counters() == {}


def test_receipt_link_for_a_one_off_order(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _buy(client, stripe_sandbox)
    assert order.stripe_payment_intent_id
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert f'href="/orders/{order.pk}/receipt"' in page and 'id="billing-portal"' not in page
    response = client.get(f"/orders/{order.pk}/receipt")
    intent = stripe_sandbox.payment_intents[order.stripe_payment_intent_id]
    charge = stripe_sandbox.charges[intent["latest_charge"]]
    assert charge["receipt_url"].startswith(stripe_sandbox.base_url)
    assert (response.status_code, response["Location"]) == (302, charge["receipt_url"])
    _, bob = make_customer("bob@example.com")
    assert bob.get(f"/orders/{order.pk}/receipt").status_code == 404


def test_billing_portal_from_order_and_profile(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _buy(client, stripe_sandbox, plan="minecraft-4gb")
    assert order.stripe_customer_id and order.stripe_subscription_id
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert 'id="billing-portal"' in page and "/receipt" not in page
    response = client.post("/billing/portal", {"order": str(order.pk)})
    assert response.status_code == 302
    (session,) = stripe_sandbox.portal_sessions.values()
    assert response["Location"] == session["url"]
    assert session["customer"] == order.stripe_customer_id
    assert session["return_url"] == f"http://testserver/orders/{order.pk}"
    profile = client.get("/accounts/profile/").content.decode()
    assert 'id="billing-portal"' in profile and 'id="set-panel-password"' in profile
    response = client.post("/billing/portal")
    assert response.status_code == 302
    latest = list(stripe_sandbox.portal_sessions.values())[-1]
    assert latest["return_url"] == "http://testserver/accounts/profile/"


def test_billing_portal_refusals_create_no_session(catalog, stripe_sandbox, customer):
    user, client = customer
    one_off = _buy(client, stripe_sandbox)
    response = client.post("/billing/portal", {"order": str(one_off.pk)}, follow=True)
    assert (
        "This order was a one-off payment; open its receipt instead." in response.content.decode()
    )
    response = client.post("/billing/portal", follow=True)
    assert "You have no subscription yet." in response.content.decode()
    sub = _buy(client, stripe_sandbox, plan="minecraft-4gb")
    _, bob = make_customer("bob@example.com")
    assert bob.post("/billing/portal", {"order": str(sub.pk)}).status_code == 404
    assert bob.post("/billing/portal", {"order": "1e3"}).status_code == 404
    plain = Client(enforce_csrf_checks=True)
    plain.force_login(user)
    assert plain.post("/billing/portal", {"order": str(sub.pk)}).status_code == 403
    assert client.get("/billing/portal").status_code == 405
    assert stripe_sandbox.portal_sessions == {}
