"""Reads of billing: the holds (unpaid checkouts) a customer has."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from billing.models import Order, OrderStatus


def holds_of_customer(*, user_id: int) -> QuerySet[Order]:
    """Unpaid checkouts of the customer that hold capacity (a reserved port and its plan's
    room), oldest first. A hold past its deadline still counts until Stripe's
    checkout.session.expired (or the reconciler) releases it: until then Stripe might still
    report a payment made at the last second, and the server must have room."""
    return Order.objects.filter(
        user_id=user_id, status=OrderStatus.PENDING, allocation__isnull=False
    ).order_by("created_at", "pk")


def hold_is_open(order: Order) -> bool:
    """Whether the checkout can still be paid (its session has not reached expires_at)."""
    return (
        order.status == OrderStatus.PENDING
        and order.hold_expires_at is not None
        and order.hold_expires_at > timezone.now()
    )


def pending_checkouts_of_customer(*, user_id: int) -> QuerySet[Order]:
    """The customer's "Pending payments": open checkouts they can complete or remove. Expired
    and cancelled ones are not shown (the operator still sees them in the admin)."""
    return (
        Order.objects.filter(
            user_id=user_id,
            status=OrderStatus.PENDING,
            hold_expires_at__gt=timezone.now(),
        )
        .exclude(checkout_url="")
        .select_related("plan__game", "region")
        .order_by("-created_at", "-pk")
    )
