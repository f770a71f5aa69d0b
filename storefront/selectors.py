"""What a customer may see: only their own orders."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from billing.models import Order


def customer_id(request: HttpRequest) -> int:
    """The signed-in customer's id (views using this require a login)."""
    assert request.user.pk is not None, "login required"
    return int(request.user.pk)


def orders_for_customer(*, user_id: int) -> QuerySet[Order]:
    return (
        Order.objects.filter(user_id=user_id)
        .select_related("plan__game", "region")
        .order_by("-created_at")
    )


def order_for_customer(*, user_id: int, order_id: int) -> Order | None:
    return orders_for_customer(user_id=user_id).filter(pk=order_id).first()


def panel_link(order: Order) -> str:
    """The customer's link into the panel (`/server/<identifier>`), once the server exists."""
    from core.secrets import secret_get

    if not order.ptero_identifier:
        return ""
    base = (secret_get("panel.PANEL_PUBLIC_URL") or secret_get("panel.PANEL_URL") or "").rstrip("/")
    return f"{base}/server/{order.ptero_identifier}" if base else ""
