"""The order page's buttons: a confirmation step, the guarded transition, the audit row naming
the staff member, the panel and Stripe agreeing; billing facts read-only; no paid order
deleted. Real HTTP sandboxes, real worker, CSRF-checked admin forms."""

from __future__ import annotations

from html import unescape

import pytest
from staff import post_form, staff_client, token
from testkit import checkout, run_worker

from billing.models import Order, OrderEvent
from provisioning.lifecycle import order_billing_sync

pytestmark = pytest.mark.django_db(transaction=True)


def _url(order: Order, action: str = "") -> str:
    base = f"/admin/billing/order/{order.pk}/"
    return f"{base}{action}/" if action else f"{base}change/"


def _provisioned(client, sb) -> Order:
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    return order


def _failed(client, sb) -> Order:
    """A paid order whose provisioning stopped in 'error' (before any worker ran)."""
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    Order.objects.filter(pk=order.pk).update(status="error", error_message="panel said no")
    order.refresh_from_db()
    return order


def _events(order: Order) -> list[tuple[str, str, str]]:
    return list(
        OrderEvent.objects.filter(order=order)
        .order_by("id")
        .values_list("from_status", "to_status", "actor")
    )


@pytest.fixture
def owner(db):
    return staff_client("owner@example.com", group="owner")


def test_retry_asks_first_then_requeues_and_names_the_staff_member(
    catalog, stripe_sandbox, customer, owner
):
    order = _failed(customer[1], stripe_sandbox)
    page = owner.get(_url(order, "retry"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Retry provisioning order #{order.pk}?" in html and 'name="confirm"' in html
    order.refresh_from_db()
    assert order.status == "error"  # the GET changed nothing

    # A POST without confirm=yes (a forged or half-sent form) is only the question again.
    response = owner.post(
        _url(order, "retry"), {"csrfmiddlewaretoken": token(owner, _url(order, "retry"))}
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "error"

    response = post_form(owner, _url(order, "retry"), {"confirm": "yes"})
    assert (response.status_code, response["Location"]) == (302, _url(order))
    order.refresh_from_db()
    assert (order.status, order.error_message) == ("paid", "")
    assert _events(order)[-1] == ("error", "paid", "staff:owner@example.com")
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"


def test_the_order_page_shows_only_the_buttons_that_apply(catalog, stripe_sandbox, customer, owner):
    order = _provisioned(customer[1], stripe_sandbox)
    html = owner.get(_url(order)).content.decode()
    for shown in ("suspend", "terminate", "refund"):
        assert f"/admin/billing/order/{order.pk}/{shown}/" in html
    for hidden in ("retry", "mark-resolved", "unsuspend"):
        assert f"/admin/billing/order/{order.pk}/{hidden}/" not in html
    # Pressing one that does not apply (typed URL) says so and offers no button.
    page = unescape(owner.get(_url(order, "retry")).content.decode())
    assert f"Order #{order.pk} is 'provisioned': this action does not apply." in page
    response = post_form(owner, _url(order, "retry"), {"confirm": "yes"})
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "provisioned"


def test_suspend_holds_against_billing_then_unsuspend_then_terminate(
    catalog, stripe_sandbox, customer, owner
):
    order = _provisioned(customer[1], stripe_sandbox)
    server = order.ptero_server_id

    response = post_form(owner, _url(order, "suspend"), {"confirm": "yes", "note": "abuse 🚩"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "suspended"
    assert order.suspended_reason == "held by staff (staff:owner@example.com): abuse 🚩"
    assert catalog.state.servers[server]["status"] == "suspended"
    # Billing says "in good standing", but a staff hold is kept by the billing sync.
    assert order_billing_sync(order_id=order.pk) == "no change"
    order.refresh_from_db()
    assert order.status == "suspended"

    post_form(owner, _url(order, "unsuspend"), {"confirm": "yes"})
    order.refresh_from_db()
    assert (order.status, order.suspended_reason) == ("provisioned", "")
    assert catalog.state.servers[server]["status"] is None

    post_form(owner, _url(order, "terminate"), {"confirm": "yes"})
    order.refresh_from_db()
    assert (order.status, order.allocation_id) == ("terminated", None)
    assert server not in catalog.state.servers
    assert [e[1] for e in _events(order)][-3:] == ["suspended", "provisioned", "terminated"]
    assert {e[2] for e in _events(order)[-3:]} == {"staff:owner@example.com"}


def test_unsuspend_is_refused_while_billing_keeps_the_server_suspended(
    catalog, stripe_sandbox, customer, owner
):
    order = _provisioned(customer[1], stripe_sandbox)
    [charge] = [
        c for c in stripe_sandbox.charges.values()
        if c["payment_intent"] == order.stripe_payment_intent_id
    ]  # fmt: skip
    stripe_sandbox.create_dispute(charge["id"])
    run_worker()
    order.refresh_from_db()
    assert order.status == "suspended"
    response = post_form(
        owner, _url(order, "unsuspend"), {"confirm": "yes"}, token_from=_url(order)
    )
    assert response.status_code == 302
    messages = unescape(owner.get(_url(order)).content.decode())
    assert f"Billing keeps order #{order.pk} suspended (payment disputed)" in messages
    order.refresh_from_db()
    assert order.status == "suspended"
    assert catalog.state.servers[order.ptero_server_id]["status"] == "suspended"


def test_refund_through_stripe_then_the_event_terminates(catalog, stripe_sandbox, customer, owner):
    order = _provisioned(customer[1], stripe_sandbox)
    page = unescape(owner.get(_url(order, "refund")).content.decode())
    assert f"Refund order #{order.pk} ({order.amount_cents / 100:.2f} USD)?" in page
    response = post_form(owner, _url(order, "refund"), {"confirm": "yes", "reason": "duplicate"})
    assert response.status_code == 302
    [refund] = stripe_sandbox.refunds.values()
    assert (refund["payment_intent"], refund["reason"]) == (
        order.stripe_payment_intent_id,
        "duplicate",
    )
    note = OrderEvent.objects.filter(order=order, reason__startswith="refund ").get()
    assert note.actor == "staff:owner@example.com" and refund["id"] in note.reason
    run_worker()  # charge.refunded → REFUND_ACTION 'terminate'
    order.refresh_from_db()
    assert order.status == "terminated" and order.refunded_at is not None
    # A second press: refused before Stripe, one refund in all.
    page = unescape(owner.get(_url(order, "refund")).content.decode())
    assert f"Order #{order.pk} was already refunded." in page
    post_form(owner, _url(order, "refund"), {"confirm": "yes", "reason": "duplicate"})
    assert len(stripe_sandbox.refunds) == 1


def test_an_unknown_refund_reason_is_refused(catalog, stripe_sandbox, customer, owner):
    order = _provisioned(customer[1], stripe_sandbox)
    response = post_form(owner, _url(order, "refund"), {"confirm": "yes", "reason": "x" * 200})
    assert response.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in response.content.decode()
    assert stripe_sandbox.refunds == {}


def test_billing_facts_are_read_only_and_paid_orders_cannot_be_deleted(
    catalog, stripe_sandbox, customer, owner
):
    order = _provisioned(customer[1], stripe_sandbox)
    before = Order.objects.filter(pk=order.pk).values().get()
    response = post_form(
        owner,
        _url(order),
        {"amount_cents": "1", "currency": "eur", "status": "pending", "user": "1"},
        token_from=f"/admin/billing/order/{order.pk}/refund/",
    )
    assert response.status_code == 403
    assert Order.objects.filter(pk=order.pk).values().get() == before
    assert owner.get(f"/admin/billing/order/{order.pk}/delete/").status_code == 403
    assert owner.post(f"/admin/billing/order/{order.pk}/delete/").status_code in (403,)
    assert owner.get("/admin/billing/order/add/").status_code == 403
    html = owner.get(_url(order)).content.decode()
    assert 'name="amount_cents"' not in html and 'name="user"' not in html
    assert Order.objects.filter(pk=order.pk).exists()
