"""The pages around the shop in a real browser, on a desktop and a 390 px phone: the branded
404 (with DEBUG on as in the demo, too), the favicon (no 404 on any page), the site name, and
*Send the link again* on the "verify your e-mail" page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache

PHONE = {"width": 390, "height": 844}  # as conftest.PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-7"


def _no_wider_than_the_viewport(page: Any) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"page is {width}px wide in a {inner}px viewport"


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_branded_404_on_desktop_and_phone(catalog, live_server, new_page, shot, settings, debug):
    settings.DEBUG = debug
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        page = new_page(viewport)
        response = page.goto(live_server.url + "/games/no-such-game")
        assert response.status == 404
        page.get_by_role("heading", name="We could not find that page").wait_for()
        assert page.title() == "Page not found · GIVRwrld"
        assert page.get_by_text("Page not found at").count() == 0  # not Django's DEBUG page
        _no_wider_than_the_viewport(page)
        shot(page, f"404-{name}")
        page.get_by_role("button", name="Back to the games").click()
        page.get_by_role("heading", name="Game servers, ready in minutes").wait_for()


def test_favicon_and_no_missing_file_on_the_pages(catalog, live_server, browser_page):
    page = browser_page
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    for path in ("/", "/games/minecraft", "/accounts/login/", "/accounts/signup/"):
        page.goto(live_server.url + path)
        assert page.title().endswith("· GIVRwrld"), path
        icon = page.locator('link[rel="icon"]')
        assert icon.get_attribute("href") == "/static/storefront/favicon.svg"
    assert missing == []
    # What a browser asks for on pages without the link (the admin's): redirected to the icon.
    response = page.request.get(live_server.url + "/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.body().lstrip().startswith(b"<svg")


def test_unverified_login_then_send_the_link_again_on_a_phone(
    catalog, live_server, phone_page, shot
):
    page = phone_page
    base = live_server.url
    page.goto(base + "/accounts/signup/")
    page.locator("#id_email").fill("slow-inbox@example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify your e-mail address").wait_for()
    assert len(mail.outbox) == 1

    # Later, the customer tries to log in before verifying: the same page, address filled in.
    page.context.clear_cookies()
    cache.clear()  # more than allauth's 3-minute cooldown later
    page.goto(base + "/accounts/login/")
    page.locator("#id_login").fill("slow-inbox@example.com")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    page.get_by_role("heading", name="Verify your e-mail address").wait_for()
    assert page.get_by_label("E-mail address").input_value() == "slow-inbox@example.com"
    assert len(mail.outbox) == 2  # allauth sent one at the log-in
    _no_wider_than_the_viewport(page)
    shot(page, "unverified-login")

    # At once: no third mail (the last link still works), and the page says why.
    page.get_by_role("button", name="Send the link again").click()
    page.get_by_text("already went to slow-inbox@example.com").wait_for()
    assert len(mail.outbox) == 2

    cache.clear()  # a few minutes later
    page.get_by_role("button", name="Send the link again").click()
    page.get_by_text("a new link is on its way").wait_for()
    assert len(mail.outbox) == 3
    shot(page, "resent")

    # The new link verifies the address and logs the customer in.
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(base + link.group(1))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="My servers").wait_for()
