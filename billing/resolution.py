"""Which order is a Stripe event about? Only the one our own stored Stripe ids prove.

Every Stripe account can hold objects that are not ours: another shop on the same account, a
staging copy, a Payment Link, a charge made by hand in the Dashboard. Any of them can carry
`metadata.order_id = 7`. So an event is tied to an order only through ids we stored when we
created the object (the Checkout Session) or first saw it under an id already proven ours:
the session's Subscription, PaymentIntent and Customer; the subscription's Invoices; an
invoice's or a session's PaymentIntent's Charges. Metadata stays a hint: when it names an
order, it must name the same one, or the event is ignored.

A charge (refund, dispute) names its PaymentIntent. A one-off order stored its PaymentIntent
when its session was paid. A subscription's PaymentIntents belong to invoices; since API
2025-03-31.basil neither the charge nor the PaymentIntent names the invoice, the invoice
payment does: one `GET /v1/invoice_payments?payment[payment_intent]=...` with the invoice
expanded gives the subscription (at most one Stripe call per event). What it finds is stored
(table `stripe_references`), so the next event about that charge needs no call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from billing import stripe_gateway
from billing.models import Order, StripeReference, StripeRefKind
from core.alerts import alert_send
from core.models import Alert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolved:
    """The order the event is proven to be about, or None and why not."""

    order: Order | None
    reason: str = ""


def stripe_ref_add(*, order: Order, kind: StripeRefKind, stripe_id: str, source: str) -> bool:
    """Remember that `stripe_id` is the order's. Returns False (and changes nothing) when the id
    already belongs to another order: an id is never moved from one order to another."""
    if not stripe_id:
        return False
    ref, _ = StripeReference.objects.get_or_create(
        stripe_id=stripe_id, defaults={"order": order, "kind": kind, "source": source[:255]}
    )
    if ref.order_id != order.pk:
        logger.error(
            "Stripe id %s is order #%s's, not order #%s's", stripe_id, ref.order_id, order.pk
        )
        return False
    return True


# The order's own columns hold the same proof for the ids it has one of (they were written
# before the references table existed, and the rest of the code reads them).
_ORDER_COLUMNS = {
    StripeRefKind.SESSION: "stripe_session_id",
    StripeRefKind.SUBSCRIPTION: "stripe_subscription_id",
    StripeRefKind.PAYMENT_INTENT: "stripe_payment_intent_id",
    StripeRefKind.CHARGE: "stripe_charge_id",
}


def order_by_stripe_id(*, kind: StripeRefKind, stripe_id: str | None) -> Order | None:
    if not stripe_id:
        return None
    ref = StripeReference.objects.select_related("order").filter(stripe_id=stripe_id).first()
    if ref is not None:
        return ref.order if ref.kind == kind else None
    column = _ORDER_COLUMNS.get(kind)
    if column is None:
        return None
    return Order.objects.filter(**{column: stripe_id}).first()


def _hint_disagrees(order: Order, metadata: Any, what: str) -> str:
    """Metadata is only a hint; one that names another order is a red flag (edited in the
    Dashboard, or a forgery): the event is ignored and the operator alerted, once per
    object, since later events about it will be ignored too until the metadata is fixed."""
    claimed = (metadata or {}).get("order_id") if isinstance(metadata, dict) else None
    if claimed in (None, "") or str(claimed) == str(order.pk):
        return ""
    note = f"{what} is order #{order.pk}'s but its metadata names order {claimed}"
    title = f"Order #{order.pk}: {what} names another order"[:255]
    if not Alert.objects.filter(title=title).exists():
        body = (
            f"{note}. Events about it are ignored while they disagree. If the metadata was "
            f"edited by mistake, set metadata.order_id back to {order.pk} in the Stripe "
            "Dashboard; otherwise find out who made the change."
        )
        # After commit, so a rolled-back duplicate delivery alerts nobody.
        transaction.on_commit(lambda: alert_send(title=title, body=body, order_id=order.pk))
    return note


def _claimed(obj: dict[str, Any]) -> str:
    ref = (obj.get("metadata") or {}).get("order_id") or obj.get("client_reference_id")
    return f" (its metadata names order {ref})" if ref else ""


def _checked(order: Order | None, obj: dict[str, Any], what: str, miss: str) -> Resolved:
    if order is None:
        return Resolved(None, miss + _claimed(obj))
    disagreement = _hint_disagrees(order, obj.get("metadata"), what)
    if disagreement:
        return Resolved(None, disagreement)
    return Resolved(order)


# --------------------------------------------------------------------------- per object
def order_for_session(session: dict[str, Any]) -> Resolved:
    """A Checkout Session is ours only if we stored its id when we created it."""
    sid = str(session.get("id") or "")
    what = f"Checkout Session {sid}"
    found = _checked(
        order_by_stripe_id(kind=StripeRefKind.SESSION, stripe_id=sid),
        session,
        what,
        f"{what} is not one we created",
    )
    if found.order is not None:
        ref = session.get("client_reference_id")
        if ref not in (None, "") and str(ref) != str(found.order.pk):
            return Resolved(None, f"{what} is order #{found.order.pk}'s but names order {ref}")
    return found


def order_for_subscription(subscription_id: str | None, metadata: Any = None) -> Resolved:
    what = f"subscription {subscription_id}"
    return _checked(
        order_by_stripe_id(kind=StripeRefKind.SUBSCRIPTION, stripe_id=subscription_id),
        {"metadata": metadata},
        what,
        f"{what} is not one of ours",
    )


def subscription_of_invoice(invoice: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Since API 2025-03-31.basil the subscription is in parent.subscription_details."""
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return details.get("subscription"), details.get("metadata") or {}


def order_for_invoice(invoice: dict[str, Any]) -> Resolved:
    invoice_id = str(invoice.get("id") or "")
    order = order_by_stripe_id(kind=StripeRefKind.INVOICE, stripe_id=invoice_id)
    subscription_id, metadata = subscription_of_invoice(invoice)
    if order is None:
        if not subscription_id:
            return Resolved(None, f"invoice {invoice_id} is not a subscription invoice")
        found = order_for_subscription(subscription_id, metadata)
        if found.order is None:
            return Resolved(None, f"invoice {invoice_id}: {found.reason}")
        order = found.order
        stripe_ref_add(
            order=order,
            kind=StripeRefKind.INVOICE,
            stripe_id=invoice_id,
            source=f"invoice of subscription {subscription_id}",
        )
    elif subscription_id and subscription_id != order.stripe_subscription_id:
        return Resolved(
            None,
            f"invoice {invoice_id} is order #{order.pk}'s but names subscription {subscription_id}",
        )
    disagreement = _hint_disagrees(order, metadata, f"invoice {invoice_id}")
    return Resolved(None, disagreement) if disagreement else Resolved(order)


def _order_for_payment_intent(payment_intent_id: str) -> tuple[Order | None, str]:
    """(order, how) for a PaymentIntent: stored, else through its invoice payment."""
    order = order_by_stripe_id(kind=StripeRefKind.PAYMENT_INTENT, stripe_id=payment_intent_id)
    if order is not None:
        return order, ""
    try:
        payments = stripe_gateway.invoice_payments_for_payment_intent(
            payment_intent_id=payment_intent_id
        )
    except stripe_gateway.StripeRefused as exc:
        return None, f"Stripe refused the invoice payment lookup ({exc})"
    for payment in payments:
        invoice = payment.get("invoice")
        if not isinstance(invoice, dict):
            continue
        found = order_for_invoice(invoice)
        if found.order is not None:
            return found.order, f"invoice {invoice.get('id')}"
    return None, ""


def order_for_charge(
    *,
    charge_id: str | None,
    payment_intent_id: str | None,
    customer_id: str | None,
    metadata: Any,
    what: str,
) -> Resolved:
    """The order a charge (or a dispute of it) is about: charge id, else its PaymentIntent,
    else the PaymentIntent's invoice's subscription. The customer, when both sides have one,
    must agree. What is found is stored for next time."""
    order = order_by_stripe_id(kind=StripeRefKind.CHARGE, stripe_id=charge_id)
    how = ""
    if order is None and payment_intent_id:
        order, how = _order_for_payment_intent(payment_intent_id)
    if order is None:
        reason = (
            f"{what} (charge {charge_id or 'none'}, PaymentIntent {payment_intent_id or 'none'}) "
            "is not tied to any of our orders"
        )
        return Resolved(None, f"{reason}: {how}" if how else reason)
    if customer_id and order.stripe_customer_id and customer_id != order.stripe_customer_id:
        return Resolved(
            None,
            f"{what} is for customer {customer_id}, but order #{order.pk} is customer "
            f"{order.stripe_customer_id}'s",
        )
    disagreement = _hint_disagrees(order, metadata, what)
    if disagreement:
        return Resolved(None, disagreement)
    source = f"{what}" + (f" via {how}" if how else "")
    if payment_intent_id:
        stripe_ref_add(
            order=order,
            kind=StripeRefKind.PAYMENT_INTENT,
            stripe_id=payment_intent_id,
            source=source,
        )
    if charge_id:
        stripe_ref_add(order=order, kind=StripeRefKind.CHARGE, stripe_id=charge_id, source=source)
    return Resolved(order)
