"""Words and pages around the shop: the site name from settings on every page and in allauth's
mails, the customers' words for statuses, branded 404/403/500 pages (with DEBUG on too, for
customer pages only), the favicon, and *Send the link again* on the unverified page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from testkit import csrf_client, make_customer

from billing.models import Order, OrderStatus
from storefront.words import STATUS_WORDS, status_word

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-pass-phrase-7"


def _signup(client: Client, email: str) -> None:
    response = client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302, response.content


# --- the site name ----------------------------------------------------------------------------


def test_site_name_from_settings_on_pages_and_in_allauth_mail(db, settings):
    settings.SITE_NAME = "Frost Hosting"
    settings.ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Frost Hosting] "
    client = Client()
    html = client.get("/").content.decode()
    assert "<title>Game servers · Frost Hosting</title>" in html
    assert "<strong>Frost Hosting</strong>" in html
    assert "GIVRwrld" not in html
    _signup(client, "frost@example.com")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "[Frost Hosting] Please Confirm Your Email Address"
    assert message.body.startswith("Hello from Frost Hosting!\n")
    assert "testserver!" not in message.body and "127.0.0.1" not in message.body
    assert message.body.rstrip().endswith("— Frost Hosting\nhttp://testserver")


def test_the_default_site_name_is_givrwrld(db):
    _signup(Client(), "plain@example.com")
    assert mail.outbox[0].subject == "[GIVRwrld] Please Confirm Your Email Address"
    assert mail.outbox[0].body.startswith("Hello from GIVRwrld!\n")


# --- customer words for statuses ---------------------------------------------------------------


def test_every_status_has_a_customer_word():
    assert set(STATUS_WORDS) == set(OrderStatus.values)
    assert status_word("provisioned") == "Ready"
    assert status_word("pending") == "Waiting for payment"
    assert status_word("some_new_state") == "Some new state"  # never raw snake_case


def test_pages_and_api_show_the_word_not_the_raw_status(catalog):
    user, client = make_customer("words@example.com")
    order = Order.objects.create(
        user=user,
        plan_id=catalog_plan_id(),
        region_id=catalog_region_id(),
        server_name="Words SMP",
        status="provisioned",
        server_address="10.0.0.5:25565",
    )
    for url in ("/dashboard", f"/orders/{order.pk}", f"/orders/{order.pk}/progress"):
        html = client.get(url).content.decode()
        assert ">Ready<" in html, url
        assert ">provisioned<" not in html and ">Provisioned<" not in html, url
    body = client.get("/api/servers").json()
    assert [(s["status"], s["status_label"]) for s in body] == [("provisioned", "Ready")]


def catalog_plan_id() -> int:
    from catalog.models import Plan

    return Plan.objects.get(slug="minecraft-2gb").pk


def catalog_region_id() -> int:
    from catalog.models import Region

    return Region.objects.get(slug="us-east").pk


def test_a_mostly_monthly_shop_does_not_say_pay_once(catalog):
    client = Client()
    assert "Pay once" not in client.get("/").content.decode()
    html = client.get("/games/minecraft").content.decode()
    assert '<p class="price">$8.00 paid once</p>' in html
    assert '<p class="price">$15.00 / month</p>' in html


# --- error pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_branded_404_for_customer_pages(customer, settings, debug):
    settings.DEBUG = debug
    _, client = customer
    for url in ("/no-such-page", "/orders/999999", "/games/no-such-game"):
        response = client.get(url)
        assert response.status_code == 404, url
        html = response.content.decode()
        assert "We could not find that page" in html, url
        assert "<title>Page not found · GIVRwrld</title>" in html
        assert "Page not found at" not in html and "Traceback" not in html  # not DEBUG's page
        assert 'href="/dashboard"' in html  # signed in: a way back to their servers
    if not debug:  # (django-csp leaves DEBUG's error responses without a policy)
        assert "default-src 'self'" in response["Content-Security-Policy"]


def test_debug_keeps_djangos_answers_outside_the_customer_pages(settings, admin_client):
    settings.DEBUG = True
    response = admin_client.get("/admin/no-such-model/")
    assert response.status_code == 404
    assert "We could not find that page" not in response.content.decode()
    api = Client().get("/api/no-such-endpoint")
    assert api.status_code == 404
    assert "We could not find that page" not in api.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_branded_500_keeps_the_traceback_out_of_the_page(db, settings, monkeypatch, debug):
    settings.DEBUG = debug

    def boom() -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("storefront.views.game_offers", boom)
    client = Client(raise_request_exception=False)
    response = client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "database on fire" not in html and "Traceback" not in html


def test_branded_403_for_a_form_posted_without_its_csrf_token(customer):
    user, _ = customer
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot open this page" in html
    assert "This form has expired" in html
    assert client.get("/dashboard").status_code == 200  # still logged in: nothing changed


def test_favicon_link_on_error_pages_too(db):
    html = Client().get("/no-such-page").content.decode()
    assert '<link rel="icon" href="/static/storefront/favicon.svg"' in html


# --- resend verification -----------------------------------------------------------------------


def _links(outbox) -> list[str]:
    return [
        re.search(r"https?://\S+/accounts/confirm-email/\S+/", m.body).group(0)
        for m in outbox
        if "confirm-email" in m.body
    ]


def test_unverified_login_offers_resend_with_the_address_filled_in(db):
    client = csrf_client()
    _signup(client, "late@example.com")
    assert len(mail.outbox) == 1
    client.post("/accounts/logout/")
    cache.clear()  # three minutes later (allauth's one-mail-per-address cooldown)
    response = client.post(
        "/accounts/login/", {"login": "late@example.com", "password": PASSWORD}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/confirm-email/"
    assert "Send the link again" in html
    assert 'value="late@example.com"' in html
    assert len(mail.outbox) == 2  # allauth re-sent one at the unverified log-in


def test_resend_sends_a_fresh_link_within_the_cooldown_rules(db):
    client = csrf_client()
    _signup(client, "again@example.com")
    assert len(mail.outbox) == 1

    # At once: the first link still works; no second mail, and the page says so.
    response = client.post(
        "/accounts/verification/resend/", {"email": "again@example.com"}, follow=True
    )
    assert "already went to again@example.com" in response.content.decode()
    assert len(mail.outbox) == 1

    cache.clear()  # the cooldown has passed
    response = client.post(
        "/accounts/verification/resend/", {"email": "AGAIN@example.com"}, follow=True
    )
    assert "a new link is on its way" in response.content.decode()
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["again@example.com"]
    # The new link verifies the address, and then the customer is in.
    link = _links(mail.outbox)[-1].split("testserver", 1)[1]
    assert client.post(link).status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_resend_tells_nobody_which_addresses_have_accounts(db):
    client = csrf_client()
    response = client.post(
        "/accounts/verification/resend/", {"email": "nobody@example.com"}, follow=True
    )
    assert "a new link is on its way" in response.content.decode()
    assert mail.outbox == []


def test_resend_refuses_bad_input_and_missing_csrf(db):
    client = csrf_client()
    _signup(client, "csrf@example.com")
    cache.clear()
    # A lone surrogate (UTF-8 bytes ED A0 80) as a browser would percent-encode it.
    for bad in ("", "not-an-address", "a" * 250 + "%40example.com", "%ED%A0%80%40example.com"):
        response = client.post(
            "/accounts/verification/resend/",
            data=f"email={bad}",
            content_type="application/x-www-form-urlencoded",
            follow=True,
        )
        assert response.status_code == 200
        assert "Enter the e-mail address you signed up with." in response.content.decode()
    no_token = Client(enforce_csrf_checks=True)
    response = no_token.post("/accounts/verification/resend/", {"email": "csrf@example.com"})
    assert response.status_code == 403
    assert Client().get("/accounts/verification/resend/").status_code == 405
    assert len(mail.outbox) == 1  # only the sign-up's
