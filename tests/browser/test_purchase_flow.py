"""A customer buys a server in a real browser: sign up → verify the e-mail → pick a game, plan,
region and version → pay on the Stripe sandbox's hosted page → watch the order page reach
'provisioned' (a background worker runs) → see the server and its address in the dashboard."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from billing.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "newplayer@example.com"
PASSWORD = "correct-horse-battery-7"


def test_sign_up_buy_pay_and_see_the_server(
    catalog, live_server, live_stripe, background_worker, browser_page, shot
):
    page = browser_page
    base = live_server.url

    # 1. The storefront, then sign up.
    page.goto(base + "/")
    page.get_by_role("heading", name="Game servers, ready in minutes").wait_for()
    shot(page, "01-home")
    page.get_by_role("button", name="Sign up").click()
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    shot(page, "02-signup")
    page.locator("main").get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify your e-mail address").wait_for()
    shot(page, "03-verify-sent")

    # 2. The verification link from the outbox (live_server runs in this process).
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(base + link.group(1))
    shot(page, "04-confirm")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="My servers").wait_for()
    assert page.get_by_text("You have no servers yet.").is_visible()

    # 3. Game → plan → region, version and name.
    page.get_by_role("link", name="Games").click()
    page.get_by_role("button", name="See Minecraft (Paper) plans").click()
    shot(page, "05-plans")
    page.get_by_role("button", name="Choose Minecraft (Paper) 2 GB").click()
    page.get_by_label("Server name").fill("Newplayer SMP")
    page.get_by_label("New York").check()
    page.get_by_label("Minecraft Version").fill("1.21.1")
    shot(page, "06-configure")
    page.get_by_role("button", name=re.compile(r"Continue to payment")).click()

    # 4. The Stripe sandbox's hosted Checkout page: press Pay.
    page.wait_for_url(re.compile(re.escape(live_stripe.base_url) + r"/pay/cs_"))
    page.get_by_text("$8.00").first.wait_for()
    shot(page, "07-stripe-checkout")
    order = Order.objects.get(user__email=EMAIL)
    assert order.status == "pending"
    assert order.variables == {"MINECRAFT_VERSION": "1.21.1"}
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    # 5. Back on the order page; the worker provisions and the page updates without a reload.
    page.wait_for_url(re.compile(re.escape(base) + rf"/orders/{order.pk}\?session_id=cs_"))
    shot(page, "08-order-paid")
    page.evaluate("window.__noReload = true")
    background_worker.start()
    # No action of the customer's: the progress, then Manage and the client area (state,
    # power), come in place.
    page.locator("#order-status", has_text="Ready").wait_for(timeout=60_000)
    page.locator("#client-area").wait_for()
    assert page.evaluate("window.__noReload") is True  # same document: updated in place
    address = page.locator("#server-address").inner_text()
    assert re.fullmatch(r"[\w.\-]+:255\d\d", address), address
    shot(page, "09-order-provisioned")
    background_worker.join()
    assert background_worker.errors == []

    # 6. The dashboard lists the server with its address and a panel link.
    page.get_by_role("link", name="My servers", exact=True).click()
    row = page.locator("#servers tbody tr").first
    assert "Newplayer SMP" in row.inner_text()
    assert address in row.inner_text()
    assert "Ready" in row.inner_text()  # the customer's word, not the raw 'provisioned'
    assert "rovisioned" not in row.inner_text()
    assert (
        row.get_by_role("link", name="Open in panel")
        .get_attribute("href")
        .endswith("/server/" + Order.objects.get(pk=order.pk).ptero_identifier)
    )
    shot(page, "10-dashboard")
    order.refresh_from_db()
    assert order.status == "provisioned"

    # 7. The mails: verification, then the receipt and "your server is ready" with its address.
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "[GIVRwrld] Please Confirm Your Email Address",
        f"[GIVRwrld] Receipt for order #{order.pk}: Minecraft (Paper) 2 GB",
        "[GIVRwrld] Your server Newplayer SMP is ready",
    ]
    assert mail.outbox[0].body.startswith("Hello from GIVRwrld!")
    assert f"Address (for the game): {address}" in mail.outbox[2].body


def test_sold_out_region_is_disabled_and_keyboard_reaches_the_form(
    catalog, live_server, browser_page, shot
):
    from allauth.account.models import EmailAddress
    from testkit import make_customer

    from catalog.models import Allocation

    user, _ = make_customer("kbd@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Allocation.objects.filter(node__regions__slug="eu-west").update(assigned=True)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(live_server.url + "/accounts/login/?next=/buy/minecraft-2gb")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.locator("#id_login").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url(re.compile(r"/buy/minecraft-2gb$"))
    assert page.locator("#region-eu-west").is_disabled()
    assert page.locator("#region-us-east").is_checked()
    assert page.get_by_text("Sold out").is_visible()
    shot(page, "phone-sold-out")
