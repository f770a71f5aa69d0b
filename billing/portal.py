"""Invoices and payment method for the customer (selectors: nothing here writes our data).

Subscription orders open Stripe's Customer Portal for the Stripe customer we stored from the
paid Checkout Session (invariant 6: our own ids only, never one a request names); one-off
orders link to the charge's hosted ``receipt_url`` (Stripe API, the Charge object)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from billing import stripe_gateway
from billing.models import Order
from core.errors import NotFound, ServiceError


def _return_url(order: Order | None) -> str:
    path = reverse("order", args=[order.pk]) if order else reverse("profile")
    return f"{settings.API_URL}{path}"


def billing_portal_url(*, user_id: int, order_id: int | None) -> str:
    """The portal for this order's customer; without an order (the profile), the customer of
    the customer's latest subscription. Returns to the order page (or the profile)."""
    mine = Order.objects.filter(user_id=user_id)
    subscribed = (
        mine.exclude(stripe_customer_id="")
        .exclude(stripe_subscription_id=None)
        .exclude(stripe_subscription_id="")
    )
    if order_id is not None:
        order = subscribed.filter(pk=order_id).first()
        if order is None:
            if mine.filter(pk=order_id).exists():
                raise ServiceError(
                    "This order was a one-off payment; open its receipt instead.",
                    code="not_a_subscription",
                    status=409,
                )
            raise NotFound("No such order.")
        return_to: Order | None = order
    else:
        order = subscribed.order_by("-created_at").first()
        if order is None:
            raise NotFound("You have no subscription yet.", code="no_subscription")
        return_to = None
    session = stripe_gateway.billing_portal_session_create(
        customer_id=order.stripe_customer_id, return_url=_return_url(return_to)
    )
    return str(session["url"])


def order_receipt_url(*, user_id: int, order_id: int) -> str:
    """The hosted receipt of the order's payment: the charge we stored, else the latest
    charge of the PaymentIntent the paid session named (both our own ids)."""
    order = Order.objects.filter(pk=order_id, user_id=user_id).first()
    if order is None:
        raise NotFound("No such order.")
    charge: dict | None = None
    if order.stripe_charge_id:
        charge = stripe_gateway.charge_retrieve(charge_id=order.stripe_charge_id)
    elif order.stripe_payment_intent_id:
        intent = stripe_gateway.payment_intent_retrieve(
            payment_intent_id=order.stripe_payment_intent_id
        )
        latest = intent.get("latest_charge")
        charge = latest if isinstance(latest, dict) else None
    url = (charge or {}).get("receipt_url")
    if not url:
        raise ServiceError("No receipt for this order yet.", code="no_receipt", status=404)
    return str(url)


def customer_has_subscription(*, user_id: int) -> bool:
    return (
        Order.objects.filter(user_id=user_id)
        .exclude(stripe_customer_id="")
        .exclude(stripe_subscription_id=None)
        .exclude(stripe_subscription_id="")
        .exists()
    )
