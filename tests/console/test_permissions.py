"""Every console action checks its permission: view-only staff can run none (403, nothing
changed, no panel or Stripe call), support can retry and acknowledge but not refund or
suspend, owner can do all. Real admin forms posted with CSRF enforced."""

from __future__ import annotations

import pytest
from staff import post_form, staff_client, token
from testkit import checkout, run_worker

from billing.models import Order, OrderEvent
from catalog.models import Egg
from core.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_BUTTONS = ("retry", "mark-resolved", "suspend", "unsuspend", "terminate", "refund")


def _paid_then(client, sb, status: str) -> Order:
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    if status == "provisioned":
        run_worker()
    else:
        Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    assert order.status == status
    return order


def _snapshot() -> tuple:
    return (
        list(Order.objects.order_by("pk").values()),
        OrderEvent.objects.count(),
        list(Alert.objects.order_by("pk").values()),
    )


@pytest.fixture
def viewer(db):
    return staff_client(
        "viewer@example.com",
        perms=(
            "billing.view_order",
            "core.view_alert",
            "catalog.view_egg",
            "billing.view_stripeevent",
        ),
    )


def test_view_only_staff_can_run_no_action(catalog, stripe_sandbox, customer, viewer):
    failed = _paid_then(customer[1], stripe_sandbox, "error")
    live = _paid_then(customer[1], stripe_sandbox, "provisioned")
    alert = Alert.objects.create(title="t", body="b", order_id=failed.pk)
    change = f"/admin/billing/order/{failed.pk}/change/"
    csrf = token(viewer, "/admin/password_change/")
    assert viewer.get(change).status_code == 200  # they may look
    before, panel_before, refunds_before = (
        _snapshot(),
        catalog.counters(),
        len(stripe_sandbox.refunds),
    )

    for order in (failed, live):
        for button in ORDER_BUTTONS:
            url = f"/admin/billing/order/{order.pk}/{button}/"
            assert viewer.get(url).status_code == 403, url
            reply = viewer.post(url, {"csrfmiddlewaretoken": csrf, "confirm": "yes"})
            assert reply.status_code == 403, url
    for action in ("retry_provisioning", "mark_resolved"):
        reply = viewer.post(
            "/admin/billing/order/",
            {"csrfmiddlewaretoken": csrf, "action": action, "_selected_action": [failed.pk]},
        )
        assert reply.status_code == 403, action
    for button in ("acknowledge", "resolve"):
        url = f"/admin/core/alert/{alert.pk}/{button}/"
        assert viewer.post(url, {"csrfmiddlewaretoken": csrf, "confirm": "yes"}).status_code == 403
    for action in ("acknowledge_selected", "resolve_selected"):
        reply = viewer.post(
            "/admin/core/alert/",
            {"csrfmiddlewaretoken": csrf, "action": action, "_selected_action": [alert.pk]},
        )
        assert reply.status_code == 403, action
    # The catalogue's sync, by button and by bulk action: 403 and no panel request.
    assert viewer.post("/admin/catalog/egg/sync/", {"csrfmiddlewaretoken": csrf}).status_code == 403
    reply = viewer.post(
        "/admin/catalog/egg/",
        {
            "csrfmiddlewaretoken": csrf,
            "action": "sync_from_panel",
            "_selected_action": [Egg.objects.first().pk],
        },
    )
    assert reply.status_code == 403
    assert viewer.get("/admin/catalog/egg/").content.decode().count("Sync from panel") == 0

    assert _snapshot() == before
    assert catalog.counters() == panel_before
    assert len(stripe_sandbox.refunds) == refunds_before


def test_support_can_retry_and_acknowledge_but_not_refund_or_suspend(
    catalog, stripe_sandbox, customer
):
    support = staff_client("support@example.com", group="support")
    failed = _paid_then(customer[1], stripe_sandbox, "error")
    live = _paid_then(customer[1], stripe_sandbox, "provisioned")
    alert = Alert.objects.create(title="t", body="b", order_id=failed.pk)

    reply = post_form(support, f"/admin/billing/order/{failed.pk}/retry/", {"confirm": "yes"})
    assert reply.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "paid"
    assert OrderEvent.objects.filter(order=failed).last().actor == "staff:support@example.com"

    csrf = token(support, "/admin/password_change/")
    before = _snapshot()
    for button in ("refund", "suspend", "terminate"):
        url = f"/admin/billing/order/{live.pk}/{button}/"
        assert support.get(url).status_code == 403
        reply = support.post(url, {"csrfmiddlewaretoken": csrf, "confirm": "yes"})
        assert reply.status_code == 403
    assert _snapshot() == before and stripe_sandbox.refunds == {}
    assert (
        support.post("/admin/catalog/egg/sync/", {"csrfmiddlewaretoken": csrf}).status_code == 403
    )

    reply = post_form(support, f"/admin/core/alert/{alert.pk}/acknowledge/", {"confirm": "yes"})
    assert reply.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == "staff:support@example.com" and alert.acknowledged_at


def test_owner_can_do_all(catalog, stripe_sandbox, customer):
    owner = staff_client("owner@example.com", group="owner")
    failed = _paid_then(customer[1], stripe_sandbox, "error")
    live = _paid_then(customer[1], stripe_sandbox, "provisioned")
    for button in ("retry", "mark-resolved"):
        assert owner.get(f"/admin/billing/order/{failed.pk}/{button}/").status_code == 200
    for button in ("suspend", "terminate", "refund"):
        assert owner.get(f"/admin/billing/order/{live.pk}/{button}/").status_code == 200
    assert post_form(owner, f"/admin/billing/order/{live.pk}/suspend/", {"confirm": "yes"})
    assert post_form(owner, f"/admin/billing/order/{live.pk}/unsuspend/", {"confirm": "yes"})
    reply = post_form(
        owner, f"/admin/billing/order/{live.pk}/refund/", {"confirm": "yes", "reason": "duplicate"}
    )
    assert reply.status_code == 302 and len(stripe_sandbox.refunds) == 1
    reply = post_form(owner, "/admin/catalog/egg/sync/", {}, token_from="/admin/catalog/egg/")
    assert reply.status_code == 302


def test_the_roles_ship_as_groups():
    from django.contrib.auth.models import Group, Permission

    support = set(
        Group.objects.get(name="support").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    assert ("billing", "retry_order") in support and ("core", "acknowledge_alert") in support
    assert ("billing", "refund_order") not in support
    assert not any(codename.startswith(("add_", "change_", "delete_")) for _, codename in support)
    assert {c for _, c in support if c.startswith("view_")} >= {"view_order", "view_alert"}
    assert Group.objects.get(name="owner").permissions.count() == Permission.objects.count()
