"""A customer buys a Rust server in a real browser and sees all its ports on the order page
(issue 16: game port, RCON/query on the game port + 1, the Rust+ app port)."""

from __future__ import annotations

import re

import pytest
from test_shop import sign_in, start_checkout

from billing.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buy_rust_and_see_every_port_on_the_order_page(
    catalog, live_server, live_stripe, background_worker, browser_page, shot
):
    page, base = browser_page, live_server.url
    user = sign_in(page, base, "rusty@example.com")
    start_checkout(page, base, "rust-4gb", "us-east", "Rusty")
    page.wait_for_url(re.compile(re.escape(live_stripe.base_url) + r"/pay/cs_"))
    order = Order.objects.get(user=user)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(re.escape(base) + rf"/orders/{order.pk}\?session_id=cs_"))
    background_worker.start()
    page.locator("#order-status", has_text="Ready").wait_for(timeout=60_000)
    background_worker.join()
    assert background_worker.errors == []

    order.refresh_from_db()
    primary = order.allocation
    extras = {p.slot: p.allocation for p in order.ports.select_related("allocation")}
    rows = page.locator("#server-ports tbody tr")
    assert rows.count() == 3
    shown = [rows.nth(i).inner_text().split("\t") for i in range(3)]
    assert [[cell.strip() for cell in row] for row in shown] == [
        [primary.address, "SERVER_PORT"],
        [extras["+1"].address, "QUERY_PORT, RCON_PORT"],
        [extras["any:APP_PORT"].address, "APP_PORT"],
    ]
    # The panel server owns exactly those three, and its variables name them.
    server = catalog.state.servers[order.ptero_server_id]
    owned = sorted(a["port"] for a in catalog.state.server_allocations(server["id"]))
    assert owned == sorted([primary.port, extras["+1"].port, extras["any:APP_PORT"].port])
    assert server["env"]["RCON_PORT"] == str(primary.port + 1)
    assert server["env"]["APP_PORT"] == str(extras["any:APP_PORT"].port)
    shot(page, "rust-ports")
