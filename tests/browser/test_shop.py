"""The shop as real customers use it, in Chromium (desktop and a 390 px phone): holds that one
person cannot hoard, stock that is room, pending payments apart from servers, pages no wider
than a phone, and the order page's Manage section (live switch, cancel with confirmation and
Resume, Change plan with prices). Screenshots: var/screenshots/<test>-<step>.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from testkit import make_customer

from accounts.models import User
from billing.models import Order
from catalog.models import Allocation, Node, Plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-7"
PHONE = {"width": 390, "height": 844}  # as conftest.PHONE


def sign_in(page: Any, base: str, email: str) -> User:
    """A verified customer, signed in in this page's browser context (session cookie)."""
    from allauth.account.models import EmailAddress

    user, client = make_customer(email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}]
    )
    return user


def shown_stock(page: Any, base: str, plan: str, region: str) -> int:
    """What the configure page says for the region: "(N available)", or 0 for Sold out."""
    page.goto(f"{base}/buy/{plan}")
    text = page.locator(f'label[for="region-{region}"]').inner_text()
    if "Sold out" in text:
        return 0
    found = re.search(r"\((\d+) available\)", text)
    assert found, text
    return int(found.group(1))


def game_page_stock(page: Any, base: str, game: str, plan: str, region_name: str) -> int:
    page.goto(f"{base}/games/{game}")
    text = page.locator(f"#plan-{plan}").inner_text()
    if re.search(rf"{region_name}: sold out", text):
        return 0
    found = re.search(rf"{region_name}: (\d+) left", text)
    assert found, text
    return int(found.group(1))


def start_checkout(page: Any, base: str, plan: str, region: str, name: str) -> None:
    """Configure page → Continue to payment (the variables keep the egg's defaults)."""
    if not page.url.endswith(f"/buy/{plan}"):
        page.goto(f"{base}/buy/{plan}")
    page.locator("#server_name").fill(name)
    page.locator(f"#region-{region}").check()
    page.get_by_role("button", name=re.compile(r"Continue to payment")).click()


def no_wider_than_the_viewport(page: Any) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url}: {width}px wide in a {inner}px viewport"


# --- 1. holds -----------------------------------------------------------------------------------


@pytest.mark.checkout_limits  # the real defaults: 2 unpaid holds per customer
def test_ten_rapid_clicks_by_one_customer_hold_at_most_two(
    catalog, live_server, live_stripe, browser_page, shot
):
    page, base = browser_page, live_server.url
    user = sign_in(page, base, "rapid@example.com")
    before = shown_stock(page, base, "minecraft-4gb", "eu-west")
    assert before > 2
    page.locator("#server_name").fill("Rapid clicks")
    page.locator("#region-eu-west").check()
    # Ten submits of the form at once, as ten fast clicks send them (same cookies and token).
    statuses = page.evaluate(
        """async () => {
          const form = document.getElementById('checkout-form');
          const body = new URLSearchParams(new FormData(form)).toString();
          const sends = Array.from({length: 10}, () => fetch(form.action, {
            method: 'POST', body, redirect: 'manual', credentials: 'same-origin',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}}));
          return (await Promise.all(sends)).map(r => r.type === 'opaqueredirect' ? 302 : r.status);
        }"""
    )
    held = statuses.count(302)  # each a redirect to its Stripe Checkout page
    assert 1 <= held <= django_settings.CHECKOUT_MAX_UNPAID, statuses
    assert set(statuses) <= {302, 409}, statuses
    assert Order.objects.filter(user=user, status="pending").count() == held
    assert shown_stock(page, base, "minecraft-4gb", "eu-west") == before - held

    # A minute later (the ten used up the per-minute checkout limit), one more real click:
    # the page says why and links to the pending payment.
    cache.clear()
    if held < django_settings.CHECKOUT_MAX_UNPAID:
        start_checkout(page, base, "minecraft-4gb", "eu-west", "One more")
        page.wait_for_url(re.compile(r"/pay/cs_"))
    start_checkout(page, base, "minecraft-4gb", "eu-west", "Rapid clicks")
    error = page.locator("#form-error")
    error.wait_for()
    assert "You already have 2 unpaid checkouts" in error.inner_text()
    link = page.locator("#complete-payment").get_attribute("href")
    first = Order.objects.filter(user=user, status="pending").order_by("created_at").first()
    assert link == first.checkout_url and link.startswith(live_stripe.base_url + "/pay/cs_")
    shot(page, "hold-limit")


def test_cancel_on_stripe_restores_the_stock_at_once_on_a_phone(
    catalog, live_server, live_stripe, phone_page, shot
):
    page, base = phone_page, live_server.url
    sign_in(page, base, "cancel@example.com")
    before = shown_stock(page, base, "rust-8gb", "eu-west")
    start_checkout(page, base, "rust-8gb", "eu-west", "Changed my mind")
    page.wait_for_url(re.compile(re.escape(live_stripe.base_url) + r"/pay/cs_"))
    other = page.context.new_page()  # a second tab: the hold is counted
    assert shown_stock(other, base, "rust-8gb", "eu-west") == before - 1
    page.get_by_role("link", name="Cancel and return to the shop").click()
    page.get_by_role("heading", name="Payment cancelled").wait_for()
    assert "back on sale" in page.locator("#cancel-result").inner_text()
    no_wider_than_the_viewport(page)
    shot(page, "cancelled")
    assert shown_stock(other, base, "rust-8gb", "eu-west") == before  # no wait for Stripe
    order = Order.objects.get(user__email="cancel@example.com")
    assert order.status == "cancelled" and order.allocation_id is None


# --- 2. stock = room ----------------------------------------------------------------------------


def test_shown_count_equals_the_checkouts_that_succeed_for_two_sizes_on_one_node(
    catalog, live_server, live_stripe, browser_page, shot
):
    """Frankfurt is one node; make it 20 GB: two 8 GB servers or five 4 GB ones fit, and a
    sale of either size changes what the other can still sell."""
    page, base = browser_page, live_server.url
    Node.objects.filter(regions__slug="eu-west").update(
        memory=20480, memory_overallocate=0, allocated_memory=0
    )
    # Memory is what runs out here: one port a server (Rust's 3-port template would make the
    # node's 10 Rust ports the limit; tests/test_port_sets.py covers that).
    Plan.objects.filter(game__slug="rust").update(port_template={})
    assert Allocation.objects.filter(node__regions__slug="eu-west", assigned=False).count() > 5
    sign_in(page, base, "stock@example.com")
    assert game_page_stock(page, base, "rust", "rust-8gb", "Frankfurt") == 2
    assert game_page_stock(page, base, "rust", "rust-4gb", "Frankfurt") == 5

    start_checkout(page, base, "rust-8gb", "eu-west", "Big one")
    page.wait_for_url(re.compile(r"/pay/cs_"))
    assert game_page_stock(page, base, "rust", "rust-8gb", "Frankfurt") == 1  # 12 GB left
    shown = game_page_stock(page, base, "rust", "rust-4gb", "Frankfurt")
    assert shown == 3
    shot(page, "stock-after-8gb")

    sold = 0
    while True:
        page.goto(f"{base}/buy/rust-4gb")
        if page.locator("#region-eu-west").is_disabled():
            break
        start_checkout(page, base, "rust-4gb", "eu-west", f"Small {sold + 1}")
        page.wait_for_url(re.compile(r"/pay/cs_"))
        sold += 1
        assert shown_stock(page, base, "rust-4gb", "eu-west") == shown - sold
        assert sold <= shown, "sold more than the page showed"
    assert sold == shown
    assert game_page_stock(page, base, "rust", "rust-8gb", "Frankfurt") == 0
    assert page.locator("#plan-rust-8gb").get_by_text("sold out").is_visible()
    shot(page, "stock-sold-out")


# --- 3. pending payments apart ------------------------------------------------------------------


def test_pending_payments_complete_payment_and_remove(
    catalog, live_server, live_stripe, browser_page, shot
):
    page, base = browser_page, live_server.url
    user = sign_in(page, base, "pending@example.com")
    before = shown_stock(page, base, "minecraft-2gb", "us-east")
    for name in ("First try", "Second try"):
        start_checkout(page, base, "minecraft-2gb", "us-east", name)
        page.wait_for_url(re.compile(r"/pay/cs_"))
    page.goto(base + "/dashboard")
    pending = page.locator("#pending-payments li")
    assert pending.count() == 2
    assert page.locator("#servers").count() == 0  # abandoned checkouts are not servers
    shot(page, "pending-two")

    first = Order.objects.get(user=user, server_name="First try")
    second = Order.objects.get(user=user, server_name="Second try")
    page.locator(f'#pending-payments li[data-order="{first.pk}"]').get_by_role(
        "button", name="Complete payment"
    ).click()
    page.wait_for_url(first.checkout_url)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(re.escape(base) + rf"/orders/{first.pk}\?session_id=cs_"))

    page.goto(base + "/dashboard")
    assert page.locator("#pending-payments li").count() == 1
    assert "First try" in page.locator("#servers").inner_text()
    page.locator(f'#pending-payments li[data-order="{second.pk}"]').get_by_role(
        "button", name="Remove"
    ).click()
    page.get_by_text("Removed. Nothing was charged.").wait_for()
    assert page.locator("#pending-payments").count() == 0
    second.refresh_from_db()
    assert second.status == "cancelled" and second.allocation_id is None
    assert shown_stock(page, base, "minecraft-2gb", "us-east") == before - 1  # only the paid one
    shot(page, "pending-removed")


# --- 4. inputs: long names ----------------------------------------------------------------------


def test_a_long_unbroken_name_keeps_every_page_phone_wide(
    catalog, live_server, live_stripe, phone_page, shot
):
    page, base = phone_page, live_server.url
    user = sign_in(page, base, "longname@example.com")
    page.goto(base + "/buy/minecraft-2gb")
    page.locator("#server_name").fill("W" * 191)
    assert page.locator("#server_name").input_value() == "W" * 60  # maxlength
    start_checkout(page, base, "minecraft-2gb", "us-east", "W" * 60)
    page.wait_for_url(re.compile(r"/pay/cs_"))
    pending = Order.objects.get(user=user)
    assert pending.server_name == "W" * 60
    served = Order.objects.create(
        user=user,
        plan=pending.plan,
        region=pending.region,
        server_name="M" * 60,
        status="provisioned",
        server_address="10.0.0.5:25565",
        ptero_identifier="abcd1234",
    )
    for path, step in (("/dashboard", "dashboard"), (f"/orders/{served.pk}", "order")):
        page.goto(base + path)
        no_wider_than_the_viewport(page)
        shot(page, f"long-name-{step}")


def test_configure_inputs_follow_the_eggs_rules_and_the_plans_bounds(
    catalog, live_server, live_stripe, phone_page, shot
):
    page, base = phone_page, live_server.url
    user = sign_in(page, base, "inputs@example.com")
    page.goto(base + "/buy/rust-4gb")
    # Our name and the game's own name are told apart.
    ours = page.get_by_label("Server name (shown in your dashboard)")
    assert ours.get_attribute("maxlength") == "60"
    game_name = page.get_by_label("Name in the server browser (the game's \u201cServer Name\u201d)")
    assert game_name.input_value() == "A Rust Server"
    assert game_name.get_attribute("maxlength") == "60"  # the egg's max:60
    # Numbers get min/max (egg: integer; plan: 1..50); in: rules are a select.
    players = page.locator("#var_MAX_PLAYERS")
    assert players.get_attribute("type") == "number"
    assert (players.get_attribute("min"), players.get_attribute("max")) == ("1", "50")
    options = page.locator("select#var_FRAMEWORK option").all_inner_texts()
    assert options == ["vanilla", "oxide", "carbon"]
    shot(page, "rust-inputs")

    # The browser stops 999999 itself; sent anyway (no browser checks), the server refuses it
    # next to the field and no order or Stripe session is made.
    ours.fill("Too many players")
    page.locator("#region-eu-west").check()
    for bad in ("999999", "-5"):
        players.fill(bad)
        assert page.evaluate("document.getElementById('var_MAX_PLAYERS').checkValidity()") is False
        page.evaluate("document.getElementById('checkout-form').noValidate = true")
        page.get_by_role("button", name=re.compile(r"Continue to payment")).click()
        page.locator("#var_MAX_PLAYERS-error").wait_for()
        assert page.locator("#var_MAX_PLAYERS").get_attribute("aria-invalid") == "true"
        players = page.locator("#var_MAX_PLAYERS")
    assert Order.objects.filter(user=user).count() == 0
    no_wider_than_the_viewport(page)
    shot(page, "rust-inputs-refused")

    # A client that sends invalid Unicode (a lone surrogate as a JSON escape; in a JS string
    # fetch would turn it into U+FFFD first) gets a 4xx, never a 500.
    statuses = page.evaluate(
        """async () => {
          const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
          const bodies = [
            '{"plan": "\\\\ud800", "region": "eu-west", "server_name": "x"}',
            '{"plan": "rust-4gb", "region": "\\\\udfff", "server_name": "x"}',
            '{"plan": "rust-4gb", "region": "eu-west", "server_name": "a\\\\ud800b"}',
          ];
          const sends = bodies.map(body => fetch('/api/checkout/session', {method: 'POST', body,
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}}));
          return (await Promise.all(sends)).map(r => r.status);
        }"""
    )
    assert all(400 <= status < 500 for status in statuses), statuses
    assert Order.objects.filter(user=user).count() == 0


def test_the_consoles_plan_form_has_every_field_a_plan_has(catalog, live_server, browser_page):
    from catalog.models import Plan

    page, base = browser_page, live_server.url
    staff = User.objects.create_superuser("ops@example.com", PASSWORD)
    page.goto(base + "/admin/login/?next=/admin/catalog/plan/add/")
    page.locator("#id_username").fill(staff.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url(re.compile(r"/admin/catalog/plan/add/$"))
    editable = {
        f.name
        for f in Plan._meta.get_fields()
        if getattr(f, "editable", False) and not f.auto_created and f.concrete
    } - {"created_at", "updated_at", "stripe_price_id"}  # made through Stripe on save, read-only
    missing = sorted(n for n in editable if page.locator(f"#id_{n}").count() == 0)
    assert missing == [], missing
    assert page.locator("#id_recurring_interval").is_visible()


# --- 5. the order page: Manage ------------------------------------------------------------------


def test_order_page_switches_to_manage_then_cancel_confirm_resume_and_plan_prices(
    catalog, live_server, live_stripe, background_worker, browser_page, shot
):
    page, base = browser_page, live_server.url
    sign_in(page, base, "manage@example.com")
    start_checkout(page, base, "minecraft-4gb", "us-east", "Monthly SMP")
    page.wait_for_url(re.compile(re.escape(live_stripe.base_url) + r"/pay/cs_"))
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    order = Order.objects.get(user__email="manage@example.com")
    page.wait_for_url(re.compile(re.escape(base) + rf"/orders/{order.pk}\?session_id=cs_"))
    assert page.locator("#manage").count() == 0
    page.evaluate("window.__noReload = true")
    background_worker.start()
    page.locator("#manage").wait_for(timeout=60_000)  # appears without a reload
    assert page.evaluate("window.__noReload") is True
    assert page.locator("#order-status").inner_text() == "Ready"
    shot(page, "manage-live")

    # Change plan: every other monthly plan of the game with its price and what it costs now.
    page.goto(f"{base}/orders/{order.pk}")
    options = page.locator("#change-plan select#plan option").all_inner_texts()
    assert len(options) == 1, options
    assert options[0].startswith("8 GB — 8 GB RAM — $28.00 / month — "), options
    assert re.search(r"(\$\d+\.\d\d more|credit) on your next invoice|prorated", options[0])

    # Cancel asks first; "Keep" changes nothing.
    page.locator("#cancel-subscription").click()
    page.locator("#confirm-cancel").wait_for()
    shot(page, "cancel-confirm")
    page.locator("#confirm-cancel-no").click()
    page.locator("#cancel-subscription").wait_for()
    order.refresh_from_db()
    assert order.cancel_at_period_end is False

    page.locator("#cancel-subscription").click()
    page.locator("#confirm-cancel-yes").click()
    page.locator("#resume").wait_for()
    order.refresh_from_db()
    assert order.cancel_at_period_end is True
    assert page.locator("#change-plan").count() == 0  # no plan change on a cancelled one
    shot(page, "cancelled-resume")
    page.locator("#resume").click()
    page.locator("#cancel-subscription").wait_for()
    order.refresh_from_db()
    assert order.cancel_at_period_end is False
    assert page.locator("#change-plan").count() == 1
    background_worker.join()
    assert background_worker.errors == []


def test_the_live_switch_on_a_phone_and_the_same_page_without_javascript(
    catalog, live_server, chromium, phone_page, shot
):
    """390 px: the page being set up turns into Manage and the client area in place (the
    status is announced by the live region that stays in the page), no wider than the phone;
    with JavaScript off a plain reload shows the same."""
    page, base = phone_page, live_server.url
    user = sign_in(page, base, "phone-live@example.com")
    order = Order.objects.create(
        user=user,
        plan=catalog_plan("minecraft-2gb"),
        region=catalog_region("us-east"),
        server_name="Phone SMP",
        status="provisioning",
    )
    page.goto(f"{base}/orders/{order.pk}")
    region = page.locator("#order-progress")
    assert region.get_attribute("aria-live") == "polite"
    assert region.locator("#order-status").inner_text() == "Setting up"
    assert page.locator("#client-area").count() == 0
    page.evaluate("window.__noReload = true")
    page.evaluate("window.__region = document.getElementById('order-progress')")
    Order.objects.filter(pk=order.pk).update(
        status="provisioned", server_address="10.0.0.5:25565", ptero_identifier="abcd1234"
    )
    page.locator("#client-area").wait_for()
    assert page.evaluate("window.__noReload") is True
    # The same live region element, now saying Ready (its content changed, not the element).
    assert page.evaluate("window.__region === document.getElementById('order-progress')")
    assert region.locator("#order-status").inner_text() == "Ready"
    assert page.locator("#manage").is_visible()
    assert page.locator("#order-server .power-buttons").is_visible()
    no_wider_than_the_viewport(page)
    shot(page, "live-switch-phone")

    # JavaScript off: the server renders the same parts; nothing polls.
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        context.add_cookies(page.context.cookies())
        plain = context.new_page()
        plain.goto(f"{base}/orders/{order.pk}")
        assert plain.locator("#order-status").inner_text() == "Ready"
        assert plain.locator("#manage").is_visible()
        assert plain.locator("#client-area").is_visible()
        assert plain.locator("#order-live").get_attribute("data-done") == "1"
        no_wider_than_the_viewport(plain)
        shot(plain, "no-javascript-phone")
    finally:
        context.close()


def catalog_plan(slug: str) -> Any:
    from catalog.models import Plan

    return Plan.objects.get(slug=slug)


def catalog_region(slug: str) -> Any:
    from catalog.models import Region

    return Region.objects.get(slug=slug)


# --- 8. the demo catalogue ----------------------------------------------------------------------


def test_every_game_offers_at_least_two_monthly_plans(catalog, live_server, browser_page):
    page = browser_page
    for game in ("minecraft", "rust", "garrys-mod"):
        page.goto(f"{live_server.url}/games/{game}")
        prices = page.locator(".price").all_inner_texts()
        assert sum(p.endswith("/ month") for p in prices) >= 2, (game, prices)
