"""Staff actions on an order's server from the console: suspend, unsuspend, terminate.

Like the billing sync (provisioning.lifecycle), the panel is asked first and the order changes
only once the panel confirmed, so the console never shows 'suspended' over a running server.
A staff suspension is marked in `suspended_reason` (HELD_BY_STAFF) so the billing sync keeps
it (billing.lifecycle.order_desired_state); only a staff unsuspend lifts it.
"""

from __future__ import annotations

from django.utils import timezone

from billing.lifecycle import ACTIVE, HELD_BY_STAFF, order_desired_state
from billing.models import Order, OrderStatus
from billing.operator import order_subscription_cancel_now
from billing.transitions import InvalidTransition, order_transition
from core.errors import ServiceError
from panel.client import PanelClient
from panel.errors import PanelError, PanelNotFoundError


def _panel_call(order: Order, what: str, client: PanelClient | None, fn_name: str) -> None:
    assert order.ptero_server_id is not None
    own = client is None
    client = client or PanelClient.from_settings()
    try:
        getattr(client, fn_name)(server_id=order.ptero_server_id)
    except PanelNotFoundError:
        if fn_name != "server_delete":
            raise ServiceError(
                f"The panel has no server {order.ptero_server_id} for order #{order.pk}.",
                code="no_server",
                status=409,
            ) from None
    except PanelError as exc:
        raise ServiceError(f"The panel refused to {what}: {exc}", code="panel_error") from exc
    finally:
        if own:
            client.close()


def _require(order: Order, allowed: tuple[OrderStatus, ...], verb: str) -> None:
    if order.status not in allowed or order.ptero_server_id is None:
        raise InvalidTransition(
            f"Order #{order.pk} is '{order.status}'; only "
            f"{' or '.join(s.value for s in allowed)} orders with a server can be {verb}.",
            code="invalid_status",
        )


def order_staff_suspend(
    *, order_id: int, actor: str, note: str = "", client: PanelClient | None = None
) -> Order:
    order = Order.objects.get(pk=order_id)
    _require(order, (OrderStatus.PROVISIONED,), "suspended")
    _panel_call(order, "suspend the server", client, "server_suspend")
    reason = f"{HELD_BY_STAFF} ({actor}){': ' + note if note else ''}"[:191]
    return order_transition(
        order_id=order_id,
        allowed_from=(OrderStatus.PROVISIONED,),
        to=OrderStatus.SUSPENDED,
        actor=actor,
        reason=reason,
        updates={"suspended_reason": reason},
    ).order


def order_staff_unsuspend(*, order_id: int, actor: str, client: PanelClient | None = None) -> Order:
    """Refused while billing itself wants the server suspended (a dispute, an unpaid
    subscription): the next billing sync would suspend it again at once."""
    order = Order.objects.get(pk=order_id)
    _require(order, (OrderStatus.SUSPENDED,), "unsuspended")
    order.suspended_reason = ""  # in memory only: what billing says without the staff hold
    billing_says = order_desired_state(order, timezone.now())
    if billing_says.state != ACTIVE:
        raise ServiceError(
            f"Billing keeps order #{order.pk} {billing_says.state} ({billing_says.reason}); "
            "fix that in Stripe first.",
            code="billing_suspended",
            status=409,
        )
    _panel_call(order, "unsuspend the server", client, "server_unsuspend")
    return order_transition(
        order_id=order_id,
        allowed_from=(OrderStatus.SUSPENDED,),
        to=OrderStatus.PROVISIONED,
        actor=actor,
        reason="unsuspended by staff",
        updates={"suspended_reason": ""},
    ).order


def order_staff_terminate(*, order_id: int, actor: str, client: PanelClient | None = None) -> Order:
    """Delete the server in the panel and end the order. A subscription is cancelled first
    (Stripe stops billing before the server goes), so a Stripe failure changes nothing."""
    order = Order.objects.get(pk=order_id)
    _require(order, (OrderStatus.PROVISIONED, OrderStatus.SUSPENDED), "terminated")
    order_subscription_cancel_now(order_id=order_id, actor=actor)
    _panel_call(order, "delete the server", client, "server_delete")
    return order_transition(
        order_id=order_id,
        allowed_from=(OrderStatus.PROVISIONED, OrderStatus.SUSPENDED),
        to=OrderStatus.TERMINATED,
        actor=actor,
        reason="terminated by staff",
        # The panel freed the port; give it back to the catalogue.
        updates={"allocation": None, "suspended_reason": ""},
    ).order
