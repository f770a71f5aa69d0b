"""The client area in a real browser: buy a subscription server -> ready -> Stop -> the state
shows Offline -> Start -> Running (updated in place by live.js); set the panel password on the
profile and log in to the panel sandbox's server page with it; open Stripe's Customer Portal
(the sandbox's), update the card and return to the order page."""

from __future__ import annotations

import re

import pytest

from billing.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "area@example.com"
PASSWORD = "correct-horse-battery-7"
PANEL_PASSWORD = "panel-pass-Zebra-42"


def test_power_panel_login_and_portal(
    catalog, live_server, live_stripe, background_worker, browser_page, shot, settings
):
    from allauth.account.models import EmailAddress
    from testkit import make_customer

    # The panel's own 20 s resources cache would make this test wait; 2 s keeps the rule.
    catalog.faults.resources_cache_seconds = 2
    settings.LIVE_STATE_CACHE_SECONDS = 1
    user, _ = make_customer(EMAIL, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    page = browser_page
    base = live_server.url

    # 1. Log in, buy the monthly 4 GB plan, pay on the sandbox's hosted page.
    page.goto(base + "/accounts/login/?next=/buy/minecraft-4gb")
    page.locator("#id_login").fill(EMAIL)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url(re.compile(r"/buy/minecraft-4gb$"))
    page.get_by_label("Server name").fill("Area SMP")
    page.get_by_label("New York").check()
    page.get_by_role("button", name=re.compile(r"Continue to payment")).click()
    page.wait_for_url(re.compile(re.escape(live_stripe.base_url) + r"/pay/cs_"))
    page.get_by_role("button", name=re.compile(r"^(Pay|Subscribe) ")).click()
    order = Order.objects.get(user=user)
    page.wait_for_url(re.compile(re.escape(base) + rf"/orders/{order.pk}\?session_id=cs_"))

    # 2. Ready: the client area comes in by itself, in the same document, and its own
    #    live-state poller runs on it (a request to /orders/<id>/live with no reload).
    page.evaluate("window.__noReload = true")
    background_worker.start()
    state = page.locator('[data-live-order] [data-live="label"]')
    with page.expect_response(lambda r: r.url == f"{base}/orders/{order.pk}/live", timeout=60_000):
        state.wait_for(timeout=60_000)
    assert page.evaluate("window.__noReload") is True
    background_worker.join()
    assert background_worker.errors == []
    order.refresh_from_db()
    assert order.status == "provisioned"
    page.locator("#client-area").get_by_text(re.compile(r"Running|Offline|Starting")).wait_for()
    if state.inner_text() != "Running":
        page.get_by_role("button", name="Start", exact=True).click()
        page.locator('[data-live-order][data-state="running"]').wait_for(timeout=30_000)
    shot(page, "01-running")

    # 3. Stop -> offline, Start -> running, without reloading between polls.
    # Stop is a plain form: it posts and comes back to the order page (not to the polled
    # fragment it may have been rendered in), whose poller then shows the state change.
    page.get_by_role("button", name="Stop", exact=True).click()
    page.wait_for_url(f"{base}/orders/{order.pk}")
    page.get_by_text("Stopping your server.").wait_for()
    page.evaluate("window.__noReload = true")
    page.locator('[data-live-order][data-state="offline"]').wait_for(timeout=30_000)
    assert page.evaluate("window.__noReload") is True
    assert state.inner_text() == "Offline"
    assert page.get_by_role("button", name="Start", exact=True).is_enabled()
    assert page.get_by_role("button", name="Stop", exact=True).is_disabled()
    shot(page, "02-offline")
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator('[data-live-order][data-state="running"]').wait_for(timeout=30_000)
    assert state.inner_text() == "Running"
    shot(page, "03-running-again")
    reasons = list(order.events.filter(reason__startswith="power").values_list("reason", flat=True))
    assert reasons[-2:] == ["power stop", "power start"]

    # 4. Panel password from the profile, then log in to the panel's server page with it.
    page.goto(base + "/accounts/profile/")
    page.locator("#id_panel_password").fill(PANEL_PASSWORD)
    page.locator("#id_panel_confirm").fill(PANEL_PASSWORD)
    page.locator("#set-panel-password").click()
    page.get_by_text("Your panel password is set.").wait_for()
    shot(page, "04-panel-password")
    page.goto(f"{base}/orders/{order.pk}")
    link = page.locator("#open-panel").get_attribute("href")
    assert link == f"{catalog.url}/server/{order.ptero_identifier}"
    page.goto(link)
    page.wait_for_url(re.compile(r"/auth/login\?next="))
    page.get_by_label("Username or Email").fill(EMAIL)
    page.get_by_label("Password").fill(PANEL_PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.wait_for_url(link)
    assert page.locator("#server-identifier").inner_text() == order.ptero_identifier
    shot(page, "05-panel-server-page")

    # 5. Invoices and payment method: Stripe's portal (the sandbox's) and back.
    page.goto(f"{base}/orders/{order.pk}")
    page.locator("#billing-portal").click()
    page.wait_for_url(re.compile(re.escape(live_stripe.base_url) + r"/portal/bps_"))
    assert page.locator("#invoices tbody tr").count() == 1
    assert "paid" in page.locator("#invoices").inner_text()
    page.locator("#update-card").click()
    page.get_by_text("Payment method updated.").wait_for()
    shot(page, "06-portal")
    page.locator("#return-link").click()
    page.wait_for_url(f"{base}/orders/{order.pk}")
    page.locator("#client-area").wait_for()
    shot(page, "07-back-from-portal")
