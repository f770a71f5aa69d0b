"""Customer mails: receipt, server ready, setup failed, payment failed, termination warning.
Each is plain text with an HTML alternative on one layout, names the shop (SITE_NAME), goes
out after the change commits, and goes out once however often the change is retried."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import transaction
from django_tasks_db.models import DBTaskResult
from testkit import checkout, run_worker

from billing.mails import SUBJECTS, order_mail_context, order_mail_schedule, order_mail_send
from billing.models import Order
from catalog.models import Plan
from core.mail import mail_render
from core.models import SentMail
from provisioning.services import order_retry

pytestmark = pytest.mark.django_db(transaction=True)


def _paid(client, stripe_sandbox, **overrides) -> tuple[Order, dict]:
    response = checkout(client, **overrides)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    event = stripe_sandbox.complete_session(order.stripe_session_id)
    order.refresh_from_db()
    assert order.status == "paid"
    return order, event


def _mails(kind: str) -> list:
    subjects = {m.subject: m for m in mail.outbox}
    prefix = SUBJECTS[kind].split("{", 1)[0]
    return [m for s, m in subjects.items() if prefix in s]


def _html(message) -> str:
    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return html


def test_receipt_then_server_ready_once_each_with_address_and_panel_steps(
    catalog, stripe_sandbox, customer, settings
):
    settings.SITE_NAME = "Frost Hosting"
    user, client = customer
    order, event = _paid(client, stripe_sandbox)
    # The webhook only queues the receipt: it never waits for a mail server.
    assert mail.outbox == []
    # Stripe delivers the same event again: still one receipt queued.
    assert stripe_sandbox.redeliver(event["id"]) == 200

    run_worker()  # the receipt, then provisioning, then "your server is ready"
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert [m.subject for m in mail.outbox] == [
        f"[Frost Hosting] Receipt for order #{order.pk}: Minecraft (Paper) 2 GB",
        "[Frost Hosting] Your server Alice's SMP is ready",
    ]
    receipt = mail.outbox[0]
    assert receipt.to == [user.email]
    assert "Paid:        $8.00" in receipt.body
    assert "Plan:        Minecraft (Paper) 2 GB (paid once)" in receipt.body
    assert "Server name: Alice's SMP" in receipt.body  # plain text: no HTML escaping
    assert f"http://testserver/orders/{order.pk}" in receipt.body
    assert receipt.body.rstrip().endswith("— The Frost Hosting team\nhttp://testserver")
    html = _html(receipt)
    assert "<strong>$8.00</strong>" in html and "Alice&#x27;s SMP" in html
    assert '<a href="http://testserver" style="color:#2457c5;text-decoration:none;">' in html

    ready = mail.outbox[1]
    assert f"Address (for the game): {order.server_address}" in ready.body
    assert "Game:                   Minecraft (Paper), plan 2 GB" in ready.body
    assert f"1. Log in with this e-mail address, {user.email}." in ready.body
    assert f"({catalog.url})" in ready.body  # the panel's address
    assert f"{catalog.url}/server/{order.ptero_identifier}" in ready.body
    assert "set your panel password" in ready.body
    assert f'<a href="{catalog.url}/server/{order.ptero_identifier}"' in _html(ready)

    # A retried task, a second worker: the ledger has both mails, nothing is sent again.
    assert order_mail_send(order_id=order.pk, kind="server_ready") is False
    assert order_mail_send(order_id=order.pk, kind="receipt") is False
    assert len(mail.outbox) == 2
    rows = SentMail.objects.filter(order_id=order.pk).order_by("created_at")
    assert [(r.kind, r.key, r.error, r.sent_at is not None) for r in rows] == [
        ("receipt", f"order-{order.pk}-receipt", "", True),
        ("server_ready", f"order-{order.pk}-server_ready", "", True),
    ]


def test_setup_failed_once_however_many_retries_then_ready(catalog, stripe_sandbox, customer):
    # The Rust egg requires RCON_PASS: a plan without it makes the panel refuse (422).
    Plan.objects.filter(slug="rust-8gb").update(environment={})
    _, client = customer
    order, _ = _paid(client, stripe_sandbox, plan="rust-8gb")
    run_worker()
    order.refresh_from_db()
    assert order.status == "error"
    failed = _mails("setup_failed")
    assert len(failed) == 1
    body = failed[0].body
    assert failed[0].subject == "[GIVRwrld] Setting up Alice's SMP needs our team: we are on it"
    assert "our team has been alerted. We are on it." in body
    assert "You were charged once, and only once, for this order" in body
    assert "environment.RCON_PASS" not in body  # the panel's detail is for operators

    order_retry(order_id=order.pk, actor="staff:ops@example.com")
    run_worker()
    order.refresh_from_db()
    assert order.status == "error"
    assert len(_mails("setup_failed")) == 1  # the second failure mails nobody

    Plan.objects.filter(slug="rust-8gb").update(environment={"RCON_PASS": "{random}"})
    order_retry(order_id=order.pk, actor="staff:ops@example.com")
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert len(_mails("server_ready")) == 1
    assert [m.subject.split("] ", 1)[1] for m in mail.outbox] == [
        f"Receipt for order #{order.pk}: Rust 8 GB",
        "Setting up Alice's SMP needs our team: we are on it",
        "Your server Alice's SMP is ready",
    ]


def test_a_rolled_back_change_mails_nobody(catalog, stripe_sandbox, customer):
    _, client = customer
    order, _ = _paid(client, stripe_sandbox)
    queued = DBTaskResult.objects.filter(task_path="billing.tasks.send_order_mail")
    assert [r.args_kwargs["kwargs"]["kind"] for r in queued] == ["receipt"]
    with pytest.raises(RuntimeError), transaction.atomic():
        order_mail_schedule(order_id=order.pk, kind="setup_failed")
        raise RuntimeError("the transition failed after all")
    assert [r.args_kwargs["kwargs"]["kind"] for r in queued.all()] == ["receipt"]
    assert mail.outbox == []
    assert not SentMail.objects.exists()


def test_a_mail_outage_is_recorded_and_never_raised(catalog, stripe_sandbox, customer, monkeypatch):
    _, client = customer
    order, _ = _paid(client, stripe_sandbox)

    def down(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", down)
    run_worker()  # provisioning carries on without the mail
    order.refresh_from_db()
    assert order.status == "provisioned"
    row = SentMail.objects.get(order_id=order.pk, kind="server_ready")
    assert row.sent_at is None
    assert row.error == "ConnectionRefusedError: smtp down"


def test_lifecycle_mails_on_the_same_layout_once_per_occurrence(
    catalog, stripe_sandbox, customer, settings
):
    settings.SUSPEND_GRACE_DAYS = 7
    _, client = customer
    order, _ = _paid(client, stripe_sandbox, server_name="<b>Night</b> & Day")
    mail.outbox.clear()
    first = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert order_mail_send(order_id=order.pk, kind="payment_failed", once_per="20260301")
    assert not order_mail_send(order_id=order.pk, kind="payment_failed", once_per="20260301")
    assert order_mail_send(order_id=order.pk, kind="payment_failed", once_per="20260601")
    assert order_mail_send(
        order_id=order.pk, kind="termination_warning", once_per="20260401", terminate_at=first
    )
    failed, again, warning = mail.outbox
    assert failed.subject == again.subject == "[GIVRwrld] Your payment failed: <b>Night</b> & Day"
    assert "Update your payment method in the next 7 days" in failed.body
    assert "<b>Night</b> & Day" in failed.body  # plain text as typed
    assert "&lt;b&gt;Night&lt;/b&gt; &amp; Day" in _html(failed)  # escaped in HTML
    assert "<b>Night</b>" not in _html(failed)
    assert warning.subject == "[GIVRwrld] Your server <b>Night</b> & Day will be deleted"
    assert "will be deleted on 2026-03-01 12:00 UTC" in warning.body
    for message in mail.outbox:
        assert message.body.rstrip().endswith("— The GIVRwrld team\nhttp://testserver")
        assert "Your orders and servers: http://testserver/dashboard" in message.body
        assert '<a href="http://testserver/dashboard" style="color:#2457c5;">' in _html(message)


def test_an_unknown_kind_is_a_programming_error(db):
    with pytest.raises(ValueError, match="unknown order mail 'welcome'"):
        order_mail_schedule(order_id=1, kind="welcome")


def test_the_receipt_shows_what_stripe_charged_and_says_monthly(catalog, stripe_sandbox, customer):
    _, client = customer
    order, _ = _paid(client, stripe_sandbox, plan="minecraft-4gb")
    run_worker()
    (receipt,) = _mails("receipt")
    assert "Paid:        $15.00 (monthly: renews each month until you cancel)" in receipt.body
    assert "Plan:        Minecraft (Paper) 4 GB (monthly)" in receipt.body
    # After a promotion code Stripe charges less than the list price: the receipt says that.
    text, html = mail_render(
        template="receipt", context={**order_mail_context(order), "paid_cents": 1200}
    )
    assert "Paid:        $12.00 (monthly" in text
    assert "<strong>$12.00</strong>" in html
