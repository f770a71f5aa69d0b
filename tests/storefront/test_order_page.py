"""The order page (issue 13, point 5): Manage appears without a reload; cancel asks first and
can be undone while the period runs; Change plan shows each plan's price and Stripe's prorated
preview, only on an active subscription; the console's plan form has every plan field."""

from __future__ import annotations

import json
import re

import pytest
import stripe
from testkit import CSRF_TOKEN, checkout, run_worker

from billing.models import Order
from catalog.admin import PlanAdmin
from catalog.models import Plan
from sandbox.stripe.errors import StripeApiError

# The worker (db_worker) closes its connections, and the sandbox delivers webhooks from its
# own thread: these tests commit as they go.
pytestmark = pytest.mark.django_db(transaction=True)

MONTHLY = "minecraft-4gb"  # 15.00 USD / month in the demo catalogue
BIGGER = "minecraft-8gb"  # 28.00 USD / month, same egg


def _provisioned(client, sb, plan: str = MONTHLY) -> Order:
    response = checkout(client, plan=plan)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned", order.error_message
    return order


def _form(client, path: str, data: dict | None = None):
    return client.post(path, {**(data or {}), "csrfmiddlewaretoken": CSRF_TOKEN})


def test_manage_appears_in_the_polled_part_when_ready(catalog, stripe_sandbox, customer):
    _, client = customer
    order = Order.objects.get(pk=checkout(client, plan=MONTHLY).json()["order_id"])
    progress = client.get(f"/orders/{order.pk}/progress").content.decode()
    assert 'id="manage"' not in progress and "data-done" not in progress
    stripe_sandbox.complete_session(order.stripe_session_id)
    run_worker()
    progress = client.get(f"/orders/{order.pk}/progress").content.decode()
    # The page swaps these parts in (live.js): Manage and the client area are there, and
    # polling stops.
    assert 'id="manage"' in progress
    assert 'data-done="1"' in progress
    assert 'id="cancel-subscription"' in progress
    assert 'data-fill="order-progress"' in progress and 'data-fill="order-server"' in progress
    assert 'id="client-area"' in progress
    assert f'data-live-url="/orders/{order.pk}/live"' in progress  # its own poller's URL
    # The power buttons come back to the order page, not to the bare fragment they were
    # rendered in (/orders/<id>/progress has no page around it and no script).
    nexts = re.findall(r'name="next" value="([^"]*)"', progress)
    assert nexts == [f"/orders/{order.pk}"] * 4, nexts
    assert progress.count('name="csrfmiddlewaretoken"') >= 4
    # Without JavaScript a plain reload shows the same: Manage and the client area.
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert 'id="manage"' in page and 'id="client-area"' in page
    assert '<div id="order-progress" aria-live="polite">' in page
    assert re.findall(r'name="next" value="([^"]*)"', page) == nexts


def test_a_power_button_from_the_polled_part_comes_back_to_the_order_page(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    order = _provisioned(client, stripe_sandbox)
    progress = client.get(f"/orders/{order.pk}/progress").content.decode()
    form = re.search(
        r'<form method="post" action="(/orders/\d+/power/stop)".*?name="next" value="([^"]*)"',
        progress,
        re.S,
    )
    assert form, progress
    response = _form(client, form.group(1), {"next": form.group(2)})
    assert (response.status_code, response["Location"]) == (302, f"/orders/{order.pk}")


def test_cancel_asks_first_then_resume_while_the_period_runs(catalog, stripe_sandbox):
    from testkit import make_customer

    _, client = make_customer("c@example.com")
    order = _provisioned(client, stripe_sandbox)
    # Without the confirmation: back to the page with the question; nothing changed.
    response = _form(client, f"/orders/{order.pk}/actions/cancel")
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}?confirm=cancel#manage"
    order.refresh_from_db()
    assert order.cancel_at_period_end is False
    page = client.get(f"/orders/{order.pk}?confirm=cancel").content.decode()
    assert 'id="confirm-cancel-yes"' in page
    assert 'id="confirm-cancel-no"' in page
    assert "Your server keeps running until" in page
    # Confirmed.
    assert (
        _form(client, f"/orders/{order.pk}/actions/cancel", {"confirm": "yes"}).status_code == 302
    )
    run_worker()
    order.refresh_from_db()
    assert order.cancel_at_period_end is True
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert 'id="resume"' in page
    assert 'id="cancel-subscription"' not in page
    # Change plan is not offered on a cancelled subscription, and refused if sent anyway.
    assert 'id="change-plan"' not in page
    refused = client.post(
        f"/api/servers/{order.pk}/plan",
        data=json.dumps({"plan": BIGGER}),
        content_type="application/json",
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "cancelled")
    assert _form(client, f"/orders/{order.pk}/actions/resume").status_code == 302
    run_worker()
    order.refresh_from_db()
    assert order.cancel_at_period_end is False
    assert 'id="change-plan"' in client.get(f"/orders/{order.pk}").content.decode()


def test_change_plan_shows_price_and_stripes_prorated_amount(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _provisioned(client, stripe_sandbox)
    stripe_sandbox.advance(10 * 86400)  # ten days into the month
    sub = stripe_sandbox.subscriptions[order.stripe_subscription_id]
    item = sub["items"]["data"][0]
    start, end, now = item["current_period_start"], item["current_period_end"], stripe_sandbox.now()
    fraction = (end - now) / (end - start)
    expected = round(2800 * fraction) - round(1500 * fraction)
    assert expected > 0
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert f'<option value="{BIGGER}" data-price="2800" data-proration="{expected}">' in page
    assert f"$28.00 / month — ${expected / 100:.2f} more on your next invoice (prorated)" in page
    # The preview changed nothing at Stripe.
    assert stripe_sandbox.subscriptions[order.stripe_subscription_id]["items"] == sub["items"]
    assert not [
        ii
        for ii in stripe_sandbox.invoice_items.values()
        if ii["invoice"] is None and ii["proration"]
    ]


def test_change_plan_is_not_offered_on_a_one_off_server(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _provisioned(client, stripe_sandbox, plan="minecraft-2gb")
    page = client.get(f"/orders/{order.pk}").content.decode()
    assert 'id="change-plan"' not in page and 'id="cancel-subscription"' not in page


def test_sandbox_preview_is_strict_and_stores_nothing(catalog, stripe_sandbox, customer, settings):
    _, client = customer
    order = _provisioned(client, stripe_sandbox)
    sdk = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )
    invoices = dict(stripe_sandbox.invoices)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk.v1.invoices.create_preview({"subscription": order.stripe_subscription_id, "bogus": 1})  # type: ignore[typeddict-unknown-key]
    assert "bogus" in str(caught.value)
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.invoices.create_preview({"subscription": "sub_nope"})
    with pytest.raises(StripeApiError):
        stripe_sandbox.api_invoice_preview(
            {"subscription": order.stripe_subscription_id, "customer": "cus_someone_else"}
        )
    preview = sdk.v1.invoices.create_preview({"subscription": order.stripe_subscription_id})
    parent = preview["parent"]["subscription_details"]
    assert parent["subscription"] == order.stripe_subscription_id
    assert preview["amount_due"] == 1500  # next month at the current price, no proration
    assert dict(stripe_sandbox.invoices) == invoices


def test_console_plan_form_has_every_plan_field(catalog):
    in_form = {
        name
        for _, options in PlanAdmin.fieldsets
        for entry in options["fields"]
        for name in (entry if isinstance(entry, tuple) else (entry,))
    }
    editable = {
        f.name
        for f in Plan._meta.get_fields()
        if getattr(f, "editable", False) and not f.auto_created and f.concrete
    } - {"created_at", "updated_at"}
    assert editable - in_form == set()
    assert "recurring_interval" in in_form


def test_change_plan_is_refused_when_the_node_has_no_cpu_for_it(catalog, stripe_sandbox, customer):
    from catalog.models import Node

    _, client = customer
    order = _provisioned(client, stripe_sandbox)
    current, bigger = Plan.objects.get(slug=MONTHLY), Plan.objects.get(slug=BIGGER)
    assert bigger.cpu > current.cpu
    # The node's CPU (set by the operator) fits the current plan but not the bigger one.
    Node.objects.filter(pk=order.allocation.node_id).update(cpu=bigger.cpu - 1)
    items = stripe_sandbox.subscriptions[order.stripe_subscription_id]["items"]
    response = client.post(
        f"/api/servers/{order.pk}/plan",
        data=json.dumps({"plan": BIGGER}),
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "node_full")
    order.refresh_from_db()
    assert order.plan.slug == MONTHLY and order.build_pending is False
    assert stripe_sandbox.subscriptions[order.stripe_subscription_id]["items"] == items
