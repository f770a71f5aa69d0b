"""Order status changes: one guarded path, so every change is locked, checked and audited.

Each named transition (in billing.services and provisioning.services) calls
`order_transition` with the states it may start from. The row is locked with
SELECT ... FOR UPDATE, the from-state checked, the change and its audit row written in the
same transaction. Asking for the state the order is already in is a no-op, which is what makes
duplicate webhooks and re-run tasks harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import Order, OrderEvent, OrderPort, OrderStatus
from core.errors import Conflict


class InvalidTransition(Conflict):
    pass


@dataclass(frozen=True)
class TransitionResult:
    order: Order
    changed: bool


def order_lock(*, order_id: int) -> Order:
    """Lock and return the order row; the caller must be inside a transaction."""
    return Order.objects.select_for_update().get(pk=order_id)


def order_transition(
    *,
    order_id: int,
    allowed_from: Iterable[OrderStatus],
    to: OrderStatus,
    actor: str,
    reason: str = "",
    updates: dict[str, Any] | None = None,
) -> TransitionResult:
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        current = OrderStatus(order.status)
        if current == to:
            return TransitionResult(order=order, changed=False)
        if current not in set(allowed_from):
            raise InvalidTransition(
                f"Order #{order_id} is '{current}', it cannot become '{to}'.",
                code="invalid_transition",
            )
        held_port = order.allocation_id is not None
        for field, value in (updates or {}).items():
            setattr(order, field, value)
        order.status = to
        order.save()
        if updates and "allocation" in updates and updates["allocation"] is None:
            # The primary port is released (cancel, termination): its extra ports go with it,
            # in the same transaction, so no order is left holding part of a set.
            OrderPort.objects.filter(order=order).delete()
        OrderEvent.objects.create(
            order=order, from_status=current, to_status=to, actor=actor[:191], reason=reason
        )
        if held_port and order.allocation_id is None:
            # The order gave its port and room back (terminated, or an unpaid checkout
            # ended): a capacity event for whoever waits for this region.
            from catalog.waitlist import waitlist_capacity_freed

            waitlist_capacity_freed(region_ids=[order.region_id], event=f"order-{order.pk}-{to}")
        return TransitionResult(order=order, changed=True)


def order_note(*, order: Order, actor: str, reason: str) -> None:
    """An audit row without a status change (e.g. a retry scheduled)."""
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        actor=actor[:191],
        reason=reason,
    )


def order_transition_if(
    *,
    order_id: int,
    from_status: OrderStatus,
    to: OrderStatus,
    actor: str,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    where: Q | None = None,
) -> bool:
    """The same guarded transition as one conditional UPDATE (no read first), for the
    webhook's hot path: `UPDATE ... WHERE id = ? AND status = ?` is the check and the lock in
    one statement. Returns whether the order changed; the audit row is written when it did.
    Call inside a transaction so the change and its audit row commit together."""
    rows = Order.objects.filter(pk=order_id, status=from_status)
    if where is not None:
        rows = rows.filter(where)
    changed = rows.update(status=to, updated_at=timezone.now(), **(updates or {}))
    if changed:
        OrderEvent.objects.create(
            order_id=order_id,
            from_status=from_status,
            to_status=to,
            actor=actor[:191],
            reason=reason,
        )
    return bool(changed)
