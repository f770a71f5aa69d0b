"""The operator console in a real browser (Debian's Chromium, desktop and phone): the dashboard
with its charts drawn, an order page action through its confirmation step, an alert
acknowledged, an order found by its address, and a plan whose price the console creates in
the Stripe sandbox. Screenshots: var/screenshots/test_console_*."""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit import checkout, run_worker

from accounts.models import User
from billing.models import Order, OrderEvent
from catalog.models import Plan
from core.models import Alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTJS = Path(__file__).resolve().parents[2] / "console/static/vendor/chartjs/chart.umd.min.js"
PHONE = {"width": 390, "height": 844}


def _setup(customer, sb) -> tuple[Order, Alert]:
    assert CHARTJS.exists(), "Chart.js is vendored by `make static` (npm pack chart.js)"
    from django.contrib.auth.models import Group

    owner = User.objects.create_user("owner@example.com", "pw-for-tests-1", is_staff=True)
    owner.groups.add(Group.objects.get(name="owner"))
    order = Order.objects.get(pk=checkout(customer[1]).json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    alert = Alert.objects.create(
        title=f"Order #{order.pk}: install slow", body="still installing", order_id=order.pk
    )
    return order, alert


def _login(page, base: str) -> None:
    page.goto(base + "/admin/login/?next=/admin/")
    page.locator("#id_username").fill("owner@example.com")
    page.locator("#id_password").fill("pw-for-tests-1")
    page.locator("#id_password").press("Enter")
    page.locator("#dashboard").wait_for()


def _charts_drawn(page) -> int:
    return page.evaluate(
        "['chart-sales','chart-states','chart-nodes']"
        ".filter(id => Chart.getChart(document.getElementById(id))).length"
    )


def test_console_on_desktop(catalog, stripe_sandbox, customer, live_server, browser_page, shot):
    order, alert = _setup(customer, stripe_sandbox)
    page, base = browser_page, live_server.url
    _login(page, base)

    # Dashboard: figures and the three charts.
    assert _charts_drawn(page) == 3
    assert page.locator('[data-figure="alerts"] .gw-value').inner_text() == "1"
    nodes = page.locator('[data-figure="nodes"]').inner_text()
    assert "ny-1" in nodes and "fra-1" in nodes
    shot(page, "01-dashboard")

    # Search by address, as a customer quotes it.
    address = order.server_address
    page.goto(base + "/admin/billing/order/")
    page.locator("#searchbar").fill(address)
    page.locator("#searchbar").press("Enter")
    page.locator("#result_list").wait_for()
    assert page.locator("#result_list tbody tr").count() == 1
    assert address in page.locator("#result_list").inner_text()
    shot(page, "02-search-address")

    # The order page: Suspend, confirmed.
    page.goto(base + f"/admin/billing/order/{order.pk}/change/")
    page.get_by_role("link", name="Suspend").first.click()
    page.locator('[data-confirm="suspend"]').wait_for()
    shot(page, "03-confirm-suspend")
    order.refresh_from_db()
    assert order.status == "provisioned"  # asking changed nothing
    page.locator("#id_note").fill("ticket 4711")
    page.get_by_role("button", name="Suspend").click()
    page.get_by_text(f"Order #{order.pk}: server suspended.").wait_for()
    shot(page, "04-suspended")
    order.refresh_from_db()
    assert order.status == "suspended"
    last = OrderEvent.objects.filter(order=order).last()
    assert (last.to_status, last.actor) == ("suspended", "staff:owner@example.com")

    # Alerts: the open list, then Acknowledge.
    page.goto(base + "/admin/core/alert/")
    page.get_by_role("link", name=alert.title).click()
    page.get_by_role("link", name="Acknowledge").first.click()
    page.locator('[data-confirm="acknowledge"]').wait_for()
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("Alert acknowledged.").wait_for()
    shot(page, "05-alert-acknowledged")
    alert.refresh_from_db()
    assert alert.acknowledged_by == "staff:owner@example.com"

    # A plan whose price the console creates in Stripe.
    plan = Plan.objects.get(slug="minecraft-2gb")
    page.goto(base + f"/admin/catalog/plan/{plan.pk}/change/")
    page.locator("#id_price_cents").fill("1799")
    page.locator("#id_recurring_interval").select_option("month")
    page.locator('button[name="_continue"]').click()
    page.get_by_text("Stripe price").first.wait_for()
    shot(page, "06-plan-price-created")
    plan.refresh_from_db()
    price = stripe_sandbox.prices[plan.stripe_price_id]
    assert (price["unit_amount"], price["recurring"]["interval"]) == (1799, "month")


def test_console_on_a_phone(catalog, stripe_sandbox, customer, live_server, browser_page, shot):
    order, _ = _setup(customer, stripe_sandbox)
    page, base = browser_page, live_server.url
    page.set_viewport_size(PHONE)
    _login(page, base)
    assert _charts_drawn(page) == 3
    # Cards stack: nothing wider than the screen.
    width = page.evaluate("document.getElementById('dashboard').scrollWidth")
    assert width <= PHONE["width"]
    shot(page, "01-dashboard-phone")
    page.goto(base + f"/admin/billing/order/{order.pk}/refund/")
    page.locator('[data-confirm="refund"]').wait_for()
    shot(page, "02-confirm-refund-phone")
    page.locator("#id_reason").select_option("requested_by_customer")
    page.get_by_role("button", name="Refund through Stripe").click()
    page.get_by_text("made in Stripe").wait_for()
    assert len(stripe_sandbox.refunds) == 1
    shot(page, "03-refunded-phone")
