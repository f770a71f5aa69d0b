"""Alerts: open by default, linked to their order, acknowledge/resolve with who and when, once.
Order search: server name, ip:port, panel identifier, e-mail, every Stripe id."""

from __future__ import annotations

from html import unescape

import pytest
from fixtures import build_shop
from staff import post_form, staff_client

from billing.models import Order, StripeReference
from core.alert_actions import alert_acknowledge, alert_resolve
from core.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return staff_client("owner@example.com", group="owner")


def test_open_alerts_by_default_with_a_link_to_the_order(owner):
    shop = build_shop()
    html = unescape(owner.get("/admin/core/alert/").content.decode())
    assert "acked one" in html and "Order #6: provisioning failed" in html
    assert "resolved one" not in html
    assert f'href="/admin/billing/order/{shop["F"].pk}/change/"' in html
    resolved = unescape(owner.get("/admin/core/alert/?state=resolved").content.decode())
    assert "resolved one" in resolved and "acked one" not in resolved
    nobody = unescape(owner.get("/admin/core/alert/?state=unacknowledged").content.decode())
    assert "Order #6" in nobody and "acked one" not in nobody
    # The order page lists its alerts.
    order_page = owner.get(f"/admin/billing/order/{shop['F'].pk}/change/").content.decode()
    assert "Order #6: provisioning failed" in order_page


def test_acknowledge_then_resolve_with_who_and_when(owner):
    alert = Alert.objects.create(title="Order #9: provisioning failed", body="x", order_id=9)
    url = f"/admin/core/alert/{alert.pk}/acknowledge/"
    page = owner.get(url)
    assert page.status_code == 200 and "Acknowledge this alert?" in page.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None  # GET asked only
    assert post_form(owner, url, {"confirm": "yes"}).status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == "staff:owner@example.com" and alert.acknowledged_at
    first = alert.acknowledged_at
    post_form(owner, f"/admin/core/alert/{alert.pk}/resolve/", {"confirm": "yes"})
    alert.refresh_from_db()
    assert alert.resolved_by == "staff:owner@example.com" and alert.resolved_at
    assert alert.acknowledged_at == first  # kept
    assert Alert.objects.filter(resolved_at=None).count() == 0


def test_first_acknowledger_and_resolver_win():
    alert = Alert.objects.create(title="t", body="b")
    assert alert_acknowledge(alert_id=alert.pk, actor="staff:a") is True
    assert alert_acknowledge(alert_id=alert.pk, actor="staff:b") is False
    assert alert_resolve(alert_id=alert.pk, actor="staff:b") is True
    assert alert_resolve(alert_id=alert.pk, actor="staff:c") is False
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.resolved_by) == ("staff:a", "staff:b")
    # Resolving an alert nobody acknowledged records the resolver as acknowledging too.
    other = Alert.objects.create(title="t2", body="b")
    alert_resolve(alert_id=other.pk, actor="staff:z")
    other.refresh_from_db()
    assert other.acknowledged_by == "staff:z"


def _found(client, term: str) -> list[int]:
    from urllib.parse import urlencode

    response = client.get("/admin/billing/order/?" + urlencode({"q": term}))
    assert response.status_code == 200
    return sorted(o.pk for o in response.context["cl"].result_list)


def test_search_by_what_customers_quote(owner):
    shop = build_shop()
    a, b, f = shop["A"], shop["B"], shop["F"]
    Order.objects.filter(pk=a.pk).update(
        server_name="Alice's SMP 🎮",
        stripe_session_id="cs_test_A",
        stripe_payment_intent_id="pi_A",
        stripe_customer_id="cus_A",
        stripe_charge_id="ch_A",
    )
    StripeReference.objects.create(order=b, kind="invoice", stripe_id="in_B_renewal")
    alloc = a.allocation
    assert _found(owner, f"{alloc.ip}:{alloc.port}") == [a.pk]
    assert _found(owner, f" {alloc.ip}:{alloc.port} ") == [a.pk]
    assert _found(owner, f"{alloc.ip}:{f.allocation.port}") == [f.pk]
    assert _found(owner, "10.0.0.1:1") == []
    assert _found(owner, "smp 🎮") == [a.pk]
    assert _found(owner, a.ptero_identifier) == [a.pk]
    assert _found(owner, "CUST@example.com") == sorted(o.pk for o in shop.values())
    for stripe_id in ("cs_test_A", "pi_A", "cus_A", "ch_A", "sub_A"):
        assert _found(owner, stripe_id) == [a.pk], stripe_id
    assert _found(owner, "in_B_renewal") == [b.pk]
    assert _found(owner, f"#{b.pk}") == [b.pk]
    assert _found(owner, "x" * 200) == []
    assert _found(owner, "cs_test") == []  # ids match exactly, not by prefix
