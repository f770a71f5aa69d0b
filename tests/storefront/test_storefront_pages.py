"""The customer pages: games → plans → region and settings, refusals before any payment (sold
out, invalid variable), order progress partial, dashboard, profile, sign-up with verification."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from testkit import make_customer

from billing.models import Order
from catalog.models import Allocation, Plan

pytestmark = pytest.mark.django_db(transaction=True)


def _session_creates(stripe_sandbox) -> int:
    return sum(
        1 for m, p in stripe_sandbox.requests if m == "POST" and p == "/v1/checkout/sessions"
    )


def _sell_out(region_slug: str) -> None:
    Allocation.objects.filter(node__regions__slug=region_slug).update(assigned=True)


def test_games_then_plans_with_money_and_stock(catalog):
    home = Client().get("/")
    assert home.status_code == 200
    html = home.content.decode()
    assert "Minecraft (Paper)" in html and "Rust" in html
    assert 'from\n      <span class="price">$8.00</span>' in html

    page = Client().get("/games/minecraft").content.decode()
    assert "$8.00" in page and "$15.00" in page
    assert "2 GB RAM" in page and "10 GB disk" in page and "2 vCPU" in page
    assert 'href="/buy/minecraft-2gb"' in page
    assert Client().get("/games/no-such-game").status_code == 404


def test_buy_page_builds_the_variable_form_from_the_egg_rules(catalog, customer):
    _, client = customer
    html = client.get("/buy/garrys-mod-3gb").content.decode()
    # GAMEMODE and MAX_PLAYERS, with their labels, help text and rule-derived attributes.
    assert '<label for="var_GAMEMODE">' in html
    assert 'id="var_MAX_PLAYERS"' in html
    plan = Plan.objects.get(slug="garrys-mod-3gb")
    rules = plan.egg.variable("MAX_PLAYERS")["rules"]
    if "integer" in rules or "numeric" in rules:
        assert re.search(r'id="var_MAX_PLAYERS"[^>]*type="number"', html, re.S)
    mc = client.get("/buy/minecraft-2gb").content.decode()
    spec = Plan.objects.get(slug="minecraft-2gb").egg.variable("MINECRAFT_VERSION")
    assert "max:20" in spec["rules"]
    assert re.search(r'id="var_MINECRAFT_VERSION"[^>]*maxlength="20"', mc, re.S)


def test_buy_needs_login(catalog):
    response = Client().get("/buy/minecraft-2gb")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sold_out_region_is_disabled_and_refused(catalog, stripe_sandbox, customer):
    _, client = customer
    _sell_out("eu-west")
    html = client.get("/buy/minecraft-2gb").content.decode()
    eu = re.search(r'<input type="radio" id="region-eu-west"[^>]*>', html, re.S).group(0)
    us = re.search(r'<input type="radio" id="region-us-east"[^>]*>', html, re.S).group(0)
    assert "disabled" in eu and "disabled" not in us and "checked" in us
    assert "Sold out" in html

    # A forged POST for the sold-out region changes nothing and creates no Stripe session.
    response = client.post(
        "/buy/minecraft-2gb",
        {"server_name": "SMP", "region": "eu-west", "var_MINECRAFT_VERSION": "latest"},
    )
    assert response.status_code == 422
    assert "Frankfurt is sold out. Pick another region." in response.content.decode()
    assert Order.objects.count() == 0
    assert _session_creates(stripe_sandbox) == 0


def test_region_sold_out_between_page_and_submit_is_refused_by_checkout(
    catalog, stripe_sandbox, customer, monkeypatch
):
    """The page's stock is advisory; the checkout service re-checks under lock (409)."""
    _, client = customer
    from storefront import views

    real = views.region_offers

    def stale(*, plan):  # the page computed stock, then the last port went
        offers = real(plan=plan)
        _sell_out("eu-west")
        return offers

    monkeypatch.setattr(views, "region_offers", stale)
    response = client.post(
        "/buy/minecraft-2gb",
        {"server_name": "SMP", "region": "eu-west", "var_MINECRAFT_VERSION": "latest"},
    )
    assert response.status_code == 409
    assert "is sold out" in response.content.decode()
    assert Order.objects.count() == 0
    assert _session_creates(stripe_sandbox) == 0


def test_invalid_variable_is_refused_next_to_the_field_before_payment(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    response = client.post(
        "/buy/minecraft-2gb",
        {"server_name": "SMP", "region": "us-east", "var_MINECRAFT_VERSION": "x" * 21},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(
        r'<small class="field-error" id="var_MINECRAFT_VERSION-error" role="alert">'
        r"The Minecraft Version variable may not be greater than 20 characters.</small>",
        html,
    )
    assert 'aria-invalid="true"' in html
    assert Order.objects.count() == 0
    assert _session_creates(stripe_sandbox) == 0


def test_valid_form_redirects_to_stripe_checkout(catalog, stripe_sandbox, customer):
    _, client = customer
    response = client.post(
        "/buy/minecraft-2gb",
        {"server_name": "SMP", "region": "us-east", "var_MINECRAFT_VERSION": "1.21.1"},
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.variables == {"MINECRAFT_VERSION": "1.21.1"}
    assert response["Location"] == stripe_sandbox.sessions[order.stripe_session_id]["url"]


def test_order_page_polls_a_partial_until_final(catalog, stripe_sandbox, customer):
    _, client = customer
    client.post(
        "/buy/minecraft-2gb",
        {"server_name": "SMP", "region": "us-east", "var_MINECRAFT_VERSION": "1.21.1"},
    )
    order = Order.objects.get()
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert f'data-poll-url="/orders/{order.pk}/progress"' in page
    assert 'http-equiv="refresh"' not in page
    assert "storefront/site.js" in page
    part = client.get(f"/orders/{order.pk}/progress")
    assert part["Cache-Control"] == "no-store"
    assert 'data-status="pending"' in part.content.decode()
    assert "data-done" not in part.content.decode()

    Order.objects.filter(pk=order.pk).update(status="error", error_message="panel said no")
    part = client.get(f"/orders/{order.pk}/progress").content.decode()
    assert "data-done" in part and "Setting up your server failed" in part
    assert "panel said no" not in part  # the operator's detail stays in the admin

    _, bob = make_customer("bob@example.com")
    assert bob.get(f"/orders/{order.pk}/progress").status_code == 404


def test_dashboard_lists_servers_with_address_copy_and_panel_link(catalog, customer):
    user, client = customer
    empty = client.get("/dashboard").content.decode()
    assert "You have no servers yet." in empty and 'href="/"' in empty

    plan = Plan.objects.get(slug="minecraft-2gb")
    from catalog.models import Region

    Order.objects.create(
        user=user,
        plan=plan,
        region=Region.objects.get(slug="us-east"),
        server_name="Alice SMP",
        status="provisioned",
        ptero_identifier="abcd1234",
        ptero_server_id=77,
        server_address="10.0.0.5:25565",
    )
    html = client.get("/dashboard").content.decode()
    assert "Alice SMP" in html and "Minecraft (Paper)" in html and "New York" in html
    assert "<code>10.0.0.5:25565</code>" in html
    assert 'data-copy="10.0.0.5:25565"' in html
    assert f'href="{catalog.url}/server/abcd1234"' in html
    assert '<span class="badge provisioned">Ready</span>' in html  # the customer's word


def test_profile_edit(customer):
    user, client = customer
    assert client.get("/accounts/profile/").status_code == 200
    response = client.post("/accounts/profile/", {"first_name": " Ada ", "last_name": "L"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Ada", "L")


def test_signup_requires_email_verification_then_logs_in(db):
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "New@Example.com",
            "password1": "a-long-pass-phrase-7",
            "password2": "a-long-pass-phrase-7",
        },
    )
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302  # not in until verified
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    assert client.post(path).status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_password_reset_sends_a_link(customer):
    user, _ = customer
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/password/reset/key/" in mail.outbox[0].body
