"""The waitlist button in Chromium (issue 16 point 5): on a phone, a signed-in customer on a
sold-out region's *Notify me when it is back* gets on the list once, however often they
click; a region with stock has no button."""

from __future__ import annotations

from typing import Any

import pytest
from test_shop import sign_in

from catalog.models import Node, WaitlistEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_notify_me_on_a_sold_out_region_puts_the_customer_on_the_list_once(
    catalog, live_server, phone_page: Any
):
    page, base = phone_page, live_server.url
    # us-east sold out: both its nodes drained; eu-west still sells.
    Node.objects.filter(name__in=["ny-1", "ny-2"]).update(drained=True)
    user = sign_in(page, base, "wanda@example.com")
    page.goto(f"{base}/buy/minecraft-2gb")
    assert page.locator('label[for="region-us-east"] .badge').inner_text() == "Sold out"
    assert page.locator("#notify-eu-west").count() == 0
    page.locator("#notify-us-east").click()
    page.wait_for_url(f"{base}/buy/minecraft-2gb")
    notice = page.locator(".notice").first.inner_text()
    assert "You are on the list for Minecraft (Paper) 2 GB in New York (number 1)." in notice
    for _ in range(3):
        page.locator("#notify-us-east").click()
        page.wait_for_load_state()
    assert "You are already on the list" in page.locator(".notice").first.inner_text()
    assert WaitlistEntry.objects.filter(user=user).count() == 1
    # The page is still phone-wide with the button in it.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
