"""The server's life follows billing: what Stripe says, and what that means for the server.

Webhook handlers here only find the order the event is about (through our own stored Stripe
ids: billing.resolution), note the Stripe ids, and queue a sync for the worker. The worker's
sync (`order_billing_refresh`) re-reads the current state of the subscription, charge and
dispute from Stripe, so events may come in any order and any number of times: the result
depends only on where Stripe is now. `order_desired_state` then turns that state and our
settings into what the server should be (active, suspended, terminated);
provisioning.lifecycle makes the panel agree, and only then changes the order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from billing import stripe_gateway
from billing.mails import order_mail_schedule
from billing.models import Order, OrderStatus
from billing.resolution import order_for_charge, order_for_invoice, order_for_subscription
from billing.signals import order_billing_changed
from core import clock
from core.alerts import alert_send

logger = logging.getLogger(__name__)

ACTIVE, SUSPENDED, TERMINATED = "active", "suspended", "terminated"
# How a staff suspension (console) starts its suspended_reason: billing keeps such a server
# suspended until staff lift it (provisioning/operator.py).
HELD_BY_STAFF = "held by staff"
_SERVING = (OrderStatus.PROVISIONED, OrderStatus.SUSPENDED)


def _dt(ts: Any) -> datetime | None:
    return datetime.fromtimestamp(int(ts), tz=UTC) if ts else None


# --------------------------------------------------------------------------- webhook handlers
# Each finds the order only through billing.resolution (our stored ids), never by metadata.
@dataclass(frozen=True)
class Noted:
    order: Order | None
    note: str


def _queue_sync(order: Order) -> None:
    order_billing_changed.send(sender=Order, order_id=order.pk)  # provisioning queues a sync


def on_subscription_event(event: dict[str, Any]) -> Noted:
    subscription = event["data"]["object"]
    found = order_for_subscription(subscription.get("id"), subscription.get("metadata"))
    if found.order is None:
        return Noted(None, found.reason)
    _queue_sync(found.order)
    return Noted(found.order, "sync queued")


def on_invoice_event(event: dict[str, Any]) -> Noted:
    found = order_for_invoice(event["data"]["object"])
    if found.order is None:
        return Noted(None, found.reason)
    _queue_sync(found.order)
    return Noted(found.order, "sync queued")


def on_charge_refunded(event: dict[str, Any]) -> Noted:
    charge = event["data"]["object"]
    found = order_for_charge(
        charge_id=charge.get("id"),
        payment_intent_id=charge.get("payment_intent"),
        customer_id=charge.get("customer"),
        metadata=charge.get("metadata"),
        what=f"refunded charge {charge.get('id')}",
    )
    if found.order is None:
        return Noted(None, found.reason)
    Order.objects.filter(pk=found.order.pk).update(stripe_charge_id=charge["id"])
    _queue_sync(found.order)
    return Noted(found.order, "sync queued")


def on_dispute_event(event: dict[str, Any]) -> Noted:
    dispute = event["data"]["object"]
    found = order_for_charge(
        charge_id=dispute.get("charge"),
        payment_intent_id=dispute.get("payment_intent"),
        customer_id=None,  # a dispute does not name the customer
        metadata=dispute.get("metadata"),
        what=f"dispute {dispute.get('id')}",
    )
    order = found.order
    if order is None:
        return Noted(None, found.reason)
    Order.objects.filter(pk=order.pk).update(stripe_dispute_id=dispute["id"])
    if event["type"] == "charge.dispute.created":
        body = (
            f"Dispute {dispute['id']} ({dispute.get('reason', 'unknown reason')}) on charge "
            f"{dispute.get('charge')}. The server is being suspended until the dispute is "
            "closed. Respond to the dispute in the Stripe dashboard."
        )
        # After commit, so a rolled-back duplicate delivery alerts nobody.
        transaction.on_commit(
            lambda: alert_send(
                title=f"Order #{order.pk}: payment disputed", body=body, order_id=order.pk
            )
        )
    _queue_sync(order)
    return Noted(order, "sync queued")


# --------------------------------------------------------------------------- refresh (worker)
def order_billing_refresh(*, order_id: int) -> Order:
    """Copy Stripe's current state of the order's subscription, charge and dispute onto it.
    Raises core.errors.Unavailable when Stripe cannot be reached (the caller retries)."""
    order = Order.objects.get(pk=order_id)
    updates: dict[str, Any] = {}
    notify_failure = False
    if order.stripe_subscription_id:
        sub = stripe_gateway.subscription_retrieve(subscription_id=order.stripe_subscription_id)
        items = (sub.get("items") or {}).get("data") or []
        period_end = max((i.get("current_period_end") or 0 for i in items), default=0)
        updates.update(
            subscription_status=sub.get("status", ""),
            current_period_end=_dt(period_end) or order.current_period_end,
            cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
            subscription_ended_at=_dt(sub.get("ended_at")),
            stripe_customer_id=sub.get("customer") or order.stripe_customer_id,
        )
        if sub.get("status") in ("past_due", "unpaid"):
            invoice = sub.get("latest_invoice") or {}
            started = _dt(invoice.get("created")) if isinstance(invoice, dict) else None
            updates["payment_failed_at"] = order.payment_failed_at or started or clock.now()
            notify_failure = order.payment_failed_at is None
        elif sub.get("status") in ("active", "trialing"):
            updates["payment_failed_at"] = None
    if order.stripe_charge_id:
        charge = stripe_gateway.charge_retrieve(charge_id=order.stripe_charge_id)
        if charge.get("refunded"):  # true only once the whole amount is refunded
            updates["refunded_at"] = order.refunded_at or clock.now()
    if order.stripe_dispute_id:
        dispute = stripe_gateway.dispute_retrieve(dispute_id=order.stripe_dispute_id)
        updates["dispute_status"] = dispute.get("status", "")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order_id)
        for field, value in updates.items():
            setattr(locked, field, value)
        locked.save()
    if notify_failure and locked.payment_failed_at is not None:
        # Once per failure: a later failure (after a paid renewal) starts a new grace period.
        order_mail_schedule(
            order_id=locked.pk,
            kind="payment_failed",
            once_per=f"{locked.payment_failed_at:%Y%m%dT%H%M%S}",
        )
    return locked


# --------------------------------------------------------------------------- policy
@dataclass(frozen=True)
class Desired:
    state: str  # active | suspended | terminated
    reason: str
    terminate_at: datetime | None = None


def _service_end(order: Order) -> datetime | None:
    """When the paid service of an ending subscription stops."""
    if order.subscription_status == "canceled":
        return order.subscription_ended_at or order.current_period_end
    if order.cancel_at_period_end:
        return order.current_period_end
    return None


def order_desired_state(order: Order, now: datetime) -> Desired:
    """What the server should be now, from the order's billing state and the settings."""
    if order.refunded_at and settings.REFUND_ACTION == "terminate":
        return Desired(TERMINATED, "payment refunded", order.refunded_at)
    if order.dispute_status == "lost" and settings.DISPUTE_LOST_ACTION == "terminate":
        return Desired(TERMINATED, "dispute lost", now)
    if order.dispute_status in (
        "needs_response",
        "under_review",
        "warning_needs_response",
        "warning_under_review",
        "lost",
    ):
        return Desired(SUSPENDED, "payment disputed")
    if order.refunded_at and settings.REFUND_ACTION == "suspend":
        return Desired(SUSPENDED, "payment refunded")
    if order.suspended_reason.startswith(HELD_BY_STAFF):
        return Desired(SUSPENDED, order.suspended_reason)
    end = _service_end(order)
    if end is not None:
        terminate_at = end + timedelta(days=settings.RETENTION_DAYS)
        if now >= terminate_at:
            return Desired(TERMINATED, "subscription ended; retention period over", terminate_at)
        if now >= end:
            return Desired(SUSPENDED, "subscription ended", terminate_at)
    if order.subscription_status in ("unpaid", "paused"):
        return Desired(SUSPENDED, f"subscription {order.subscription_status}")
    if order.payment_failed_at is not None:
        grace_end = order.payment_failed_at + timedelta(days=settings.SUSPEND_GRACE_DAYS)
        if now >= grace_end:
            return Desired(SUSPENDED, "payment overdue past the grace period")
    return Desired(ACTIVE, "in good standing")


def orders_needing_sync(now: datetime) -> list[int]:
    """Serving orders whose server is not what billing says it should be (time has passed a
    grace or period end), or with a plan change or a termination warning still to do."""
    due: list[int] = []
    watched = Order.objects.filter(status__in=_SERVING).exclude(
        payment_failed_at=None,
        cancel_at_period_end=False,
        subscription_status__in=("", "active", "trialing"),
        refunded_at=None,
        dispute_status="",
        build_pending=False,
    )
    for order in watched:
        desired = order_desired_state(order, now)
        actual = SUSPENDED if order.status == OrderStatus.SUSPENDED else ACTIVE
        warn = termination_warning_due(order, desired, now)
        if desired.state != actual or order.build_pending or warn:
            due.append(order.pk)
    return due


def termination_warning_due(order: Order, desired: Desired, now: datetime) -> bool:
    if desired.terminate_at is None or order.termination_warned_at is not None:
        return False
    if desired.state == TERMINATED:
        return False
    return now >= desired.terminate_at - timedelta(days=settings.TERMINATION_WARNING_DAYS)


def termination_warn(*, order: Order, terminate_at: datetime) -> None:
    Order.objects.filter(pk=order.pk).update(termination_warned_at=clock.now())
    order_mail_schedule(
        order_id=order.pk,
        kind="termination_warning",
        once_per=f"{terminate_at:%Y%m%d}",
        terminate_at=terminate_at.isoformat(),
    )
