"""What staff do to an order's (or a plan's) billing from the console: refund, cancel a
subscription now, publish a plan's price in Stripe. Each is one call to Stripe through
stripe_gateway, then an audit row naming the staff member; the order's own state then follows
from Stripe's events, as for a refund made in the Stripe dashboard (docs/console.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction

from billing import stripe_gateway
from billing.idempotency import installation_id, order_next_request_key
from billing.models import Order, OrderStatus
from billing.transitions import order_note
from core.errors import ServiceError

# Orders whose customer paid (Stripe holds a charge we may refund).
_PAID = (
    OrderStatus.PAID,
    OrderStatus.PROVISIONING,
    OrderStatus.PROVISIONED,
    OrderStatus.ERROR,
    OrderStatus.SUSPENDED,
    OrderStatus.TERMINATED,
)
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")


def order_refund_refusal(order: Order) -> str:
    """Why this order cannot be refunded from the console, or '' if it can."""
    if order.status not in _PAID:
        return f"Order #{order.pk} is '{order.status}': there is no payment to refund."
    if order.refunded_at is not None:
        return f"Order #{order.pk} was already refunded."
    if order.stripe_dispute_id:
        return f"Order #{order.pk} is disputed: Stripe refuses refunds of a disputed charge."
    if not (order.stripe_charge_id or order.stripe_payment_intent_id):
        return f"Order #{order.pk} has no Stripe charge or PaymentIntent on record."
    return ""


def order_refund(*, order_id: int, actor: str, reason: str) -> dict[str, object]:
    """Refund the order's payment in full (the charge, or the PaymentIntent's charge). Stripe
    then sends charge.refunded, whose handler does what REFUND_ACTION says (terminate by
    default). The idempotency key is fresh per console request, so a double click that
    reaches Stripe twice is refused by Stripe's 'already refunded', not charged twice back."""
    if reason not in REFUND_REASONS:
        raise ServiceError(f"Unknown refund reason {reason!r}.", code="invalid_reason")
    order = Order.objects.get(pk=order_id)
    refusal = order_refund_refusal(order)
    if refusal:
        raise ServiceError(refusal, code="not_refundable", status=409)
    key = order_next_request_key(order_id=order_id, purpose="refund")
    try:
        refund = stripe_gateway.refund_create(
            charge=order.stripe_charge_id,
            payment_intent=order.stripe_payment_intent_id,
            reason=reason,
            idempotency_key=key,
        )
    except stripe_gateway.StripeRefused as exc:
        raise ServiceError(f"Stripe refused the refund: {exc}", code="stripe_refused") from exc
    with transaction.atomic():
        order_note(
            order=order,
            actor=actor,
            reason=f"refund {refund.get('id')} of {refund.get('amount')} "
            f"{refund.get('currency')} requested ({reason}); status {refund.get('status')}",
        )
    return refund


def order_subscription_cancel_now(*, order_id: int, actor: str) -> bool:
    """Stop billing the order's subscription at once (staff terminating a server must not
    leave the customer paying for it). Returns whether a subscription was cancelled."""
    order = Order.objects.get(pk=order_id)
    if not order.stripe_subscription_id or order.subscription_status == "canceled":
        return False
    key = order_next_request_key(order_id=order_id, purpose="cancel-now")
    try:
        sub = stripe_gateway.subscription_cancel(
            subscription_id=order.stripe_subscription_id, idempotency_key=key
        )
    except stripe_gateway.StripeRefused as exc:
        raise ServiceError(
            f"Stripe refused to cancel the subscription: {exc}", code="stripe_refused"
        ) from exc
    with transaction.atomic():
        Order.objects.filter(pk=order_id).update(subscription_status=sub.get("status", ""))
        order_note(
            order=order,
            actor=actor,
            reason=f"subscription {order.stripe_subscription_id} cancelled now",
        )
    return True


@dataclass(frozen=True)
class PublishedPrice:
    product_id: str
    price_id: str


def plan_price_create(
    *, slug: str, product_name: str, price_cents: int, currency: str, recurring_interval: str
) -> PublishedPrice:
    """Create the Stripe Product and Price for a plan's terms; the console's plan form stores
    the price id on the plan in the same save (so the id is never typed by hand, and a
    refused price saves nothing). Stripe Prices are immutable: each new amount is a new
    Price, and the old one keeps billing the subscriptions made with it. The keys carry the
    installation, the plan's slug and the terms, so a second press with the same terms gets
    Stripe's first answer back instead of a second product."""
    if price_cents <= 0:
        raise ServiceError("Set a price above 0.", code="invalid_price")
    base = f"givrwrld-{installation_id()}-plan-{slug}"
    terms = f"{price_cents}-{currency}-{recurring_interval or 'once'}"
    name_tag = hashlib.sha256(product_name.encode()).hexdigest()[:8]
    try:
        product = stripe_gateway.product_create(
            name=product_name[:250],
            metadata={"givrwrld_plan": slug},
            idempotency_key=f"{base}-product-{terms}-{name_tag}",
        )
        price = stripe_gateway.price_create(
            product=str(product["id"]),
            unit_amount=price_cents,
            currency=currency,
            recurring_interval=recurring_interval,
            idempotency_key=f"{base}-price-{terms}-{name_tag}",
        )
    except stripe_gateway.StripeRefused as exc:
        raise ServiceError(f"Stripe refused the price: {exc}", code="stripe_refused") from exc
    return PublishedPrice(product_id=str(product["id"]), price_id=str(price["id"]))
