"""Billing's verbs: checkout, payment, cancellation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from billing import stripe_gateway
from billing.models import Order, OrderStatus
from billing.transitions import (
    TransitionResult,
    order_note,
    order_transition,
    order_transition_if,
)
from catalog.models import Allocation, Plan, Region
from catalog.selectors import plan_get_active, region_get_active
from catalog.services import allocation_claim
from catalog.variables import variables_validate
from core.errors import NotFound, ServiceError, Unavailable

logger = logging.getLogger(__name__)

SERVER_NAME_MAX = 191


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    checkout_url: str


def _checkout_inputs(
    *, plan_slug: str, region_slug: str, server_name: str, variables: dict[str, Any]
) -> tuple[Plan, Region, str, dict[str, str]]:
    plan = plan_get_active(slug=plan_slug)
    if plan is None:
        raise NotFound(f"Unknown plan '{plan_slug}'.", code="unknown_plan")
    region = region_get_active(slug=region_slug)
    if region is None:
        raise NotFound(f"Unknown region '{region_slug}'.", code="unknown_region")
    name = (server_name or "").strip()
    if not name:
        raise ServiceError("Give your server a name.", code="invalid_server_name")
    if len(name) > SERVER_NAME_MAX:
        raise ServiceError(
            f"The server name may be at most {SERVER_NAME_MAX} characters.",
            code="invalid_server_name",
        )
    if not plan.stripe_price_id:
        raise ServiceError(
            "This plan is not for sale yet (it has no price).", code="plan_unavailable"
        )
    clean = variables_validate(plan=plan, values=variables)
    return plan, region, name, clean


def _order_create_with_reservation(
    *, user: User, plan: Plan, region: Region, server_name: str, variables: dict[str, str]
) -> Order:
    """Write the order holding a free port (invariant 3: nobody pays for a server that cannot
    be placed)."""

    def create(allocation: Allocation) -> Order:
        return Order.objects.create(
            user=user,
            plan=plan,
            region=region,
            server_name=server_name,
            variables=variables,
            status=OrderStatus.PENDING,
            amount_cents=plan.price_cents,
            currency=plan.currency,
            allocation=allocation,
        )

    order = allocation_claim(region=region, plan=plan, claim=create)
    if order is None:
        raise ServiceError(
            f"{region.name} is sold out for {plan}. Pick another region or plan.",
            code="sold_out",
            status=409,
        )
    return order


def checkout_session_create(
    *, user: User, plan_slug: str, region_slug: str, server_name: str, variables: dict[str, Any]
) -> CheckoutResult:
    plan, region, name, clean = _checkout_inputs(
        plan_slug=plan_slug, region_slug=region_slug, server_name=server_name, variables=variables
    )
    # Committed before Stripe is called, so a webhook can never arrive for an unknown order.
    order = _order_create_with_reservation(
        user=user, plan=plan, region=region, server_name=name, variables=clean
    )
    params = _session_params(order=order, plan=plan, user=user)
    try:
        session = stripe_gateway.checkout_session_create(
            params=params, idempotency_key=f"checkout-session-order-{order.pk}"
        )
    except (Unavailable, stripe_gateway.StripeRefused) as exc:
        order_cancel(order_id=order.pk, actor="checkout", reason=f"Stripe session failed: {exc}")
        if isinstance(exc, Unavailable):
            raise
        raise ServiceError(
            "Checkout could not be started; the shop's payment settings need attention.",
            code="payment_configuration",
            status=502,
        ) from exc
    Order.objects.filter(pk=order.pk).update(stripe_session_id=session["id"])
    order.stripe_session_id = session["id"]
    return CheckoutResult(order=order, checkout_url=session["url"])


def _session_params(*, order: Order, plan: Plan, user: User) -> dict[str, Any]:
    order_ref = str(order.pk)
    # Session metadata is not copied to the PaymentIntent or the Subscription: refunds,
    # disputes and renewals need the order id there too.
    mode_params: dict[str, Any] = (
        {"mode": "subscription", "subscription_data": {"metadata": {"order_id": order_ref}}}
        if plan.recurring_interval
        else {"mode": "payment", "payment_intent_data": {"metadata": {"order_id": order_ref}}}
    )
    return {
        **mode_params,
        "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
        "client_reference_id": order_ref,
        "metadata": {"order_id": order_ref},
        "customer_email": user.email,
        "success_url": f"{settings.API_URL}/orders/{order.pk}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{settings.API_URL}/orders/{order.pk}/cancel",
        "expires_at": int(timezone.now().timestamp()) + settings.CHECKOUT_EXPIRES_SECONDS,
    }


def order_mark_paid(*, order_id: int, session: dict[str, Any], actor: str) -> bool:
    """Stripe says the order is paid. Returns whether it changed: a paid (or later) order is
    left alone, so duplicate and concurrent deliveries are harmless, and an order bound to
    another Checkout Session is never paid by this one."""
    updates = {
        "paid_at": timezone.now(),
        # The webhook can beat the checkout view to storing the session id.
        "stripe_session_id": Coalesce(F("stripe_session_id"), Value(session["id"])),
        "stripe_customer_id": session.get("customer") or "",
        "stripe_payment_intent_id": session.get("payment_intent") or "",
        "stripe_subscription_id": session.get("subscription") or None,
    }
    reason = f"Checkout Session {session['id']} is {session.get('payment_status')}"
    # savepoint=False: inside the webhook's transaction a savepoint is two round trips for
    # nothing (any failure here fails the whole event anyway).
    ours = Q(stripe_session_id__isnull=True) | Q(stripe_session_id=session["id"])
    with transaction.atomic(savepoint=False):
        # A cancelled order that Stripe still charged must still be served (invariant 2).
        return any(
            order_transition_if(
                order_id=order_id,
                from_status=from_status,
                to=OrderStatus.PAID,
                actor=actor,
                reason=reason,
                updates=updates,
                where=ours,
            )
            for from_status in (OrderStatus.PENDING, OrderStatus.CANCELLED)
        )


def order_cancel(*, order_id: int, actor: str, reason: str) -> TransitionResult:
    """An unpaid order ends: its reserved port goes back on sale."""
    return order_transition(
        order_id=order_id,
        allowed_from=(OrderStatus.PENDING,),
        to=OrderStatus.CANCELLED,
        actor=actor,
        reason=reason,
        updates={"allocation": None},
    )


# Fulfil when the money is there; Stripe's own sample fulfils on anything but 'unpaid'.
_FULFIL_PAYMENT_STATUSES = {"paid", "no_payment_required"}


@dataclass(frozen=True)
class SessionResult:
    order: Order | None
    note: str


def _session_order_id(session: dict[str, Any]) -> int | None:
    ref = (session.get("metadata") or {}).get("order_id") or session.get("client_reference_id")
    return int(ref) if ref and str(ref).isdigit() else None


def _order_for_session(session: dict[str, Any]) -> Order | None:
    order_id = _session_order_id(session)
    if order_id is None:
        return None
    order = Order.objects.only("id", "status", "stripe_session_id").filter(pk=order_id).first()
    if order is None:
        return None
    if order.stripe_session_id and order.stripe_session_id != session.get("id"):
        # Someone else's session carrying our order id: never let it pay for our order.
        return None
    return order


def checkout_session_fulfil(*, session: dict[str, Any], actor: str) -> SessionResult:
    """The one fulfilment path (Stripe's guidance), for the webhook and the reconciler alike:
    safe to run any number of times, concurrently, for the same session."""
    order_id = _session_order_id(session)
    paid = session.get("payment_status") in _FULFIL_PAYMENT_STATUSES
    # The hot path is the conditional UPDATE itself (it checks status and session); the order
    # is read only to explain why nothing changed.
    if (
        order_id is not None
        and paid
        and order_mark_paid(order_id=order_id, session=session, actor=actor)
    ):
        from provisioning.services import provisioning_enqueue

        provisioning_enqueue(order_id=order_id)
        return SessionResult(Order(pk=order_id), "order paid, provisioning queued")
    order = _order_for_session(session)
    if order is None:
        return SessionResult(None, "not one of our orders")
    if not paid:
        # A delayed payment method: async_payment_succeeded (or the reconciler) comes later.
        return SessionResult(
            order, f"payment_status={session.get('payment_status')}: waiting for the payment"
        )
    return SessionResult(order, "order already paid")


def checkout_session_close(*, session: dict[str, Any], actor: str, reason: str) -> SessionResult:
    """The session ended unpaid (expired, or a delayed payment failed): release the port."""
    order = _order_for_session(session)
    if order is None:
        return SessionResult(None, "not one of our orders")
    if order.status != OrderStatus.PENDING:
        return SessionResult(order, f"order already {order.status}")
    order_cancel(order_id=order.pk, actor=actor, reason=reason)
    return SessionResult(order, "order cancelled, port released")


def order_reconcile_pending(*, order_id: int, actor: str = "reconciler") -> str:
    """Ask Stripe about a 'pending' order whose webhook may have been missed. Returns a note."""
    order = Order.objects.get(pk=order_id)
    if order.status != OrderStatus.PENDING or not order.stripe_session_id:
        return f"order is {order.status}"
    session = stripe_gateway.checkout_session_retrieve(session_id=order.stripe_session_id)
    if session.get("status") == "expired":
        return checkout_session_close(
            session=session, actor=actor, reason="checkout session expired (found by reconciler)"
        ).note
    if session.get("status") == "complete":
        return checkout_session_fulfil(session=session, actor=actor).note
    return "still open"


# --------------------------------------------------------------------------- customer actions
def _customer_order(*, order_id: int, user_id: int) -> Order:
    order = (
        Order.objects.select_related("plan", "allocation__node")
        .filter(pk=order_id, user_id=user_id)
        .first()
    )
    if order is None:
        raise NotFound("No such server.")
    return order


def order_cancel_at_period_end(*, order_id: int, user_id: int) -> Order:
    """The customer cancels: the subscription ends at the end of the paid period (the server
    runs until then, is suspended, and deleted after the retention period)."""
    order = _customer_order(order_id=order_id, user_id=user_id)
    if not order.stripe_subscription_id:
        raise ServiceError("This server was paid once; there is nothing to cancel.", code="one_off")
    if order.status not in (OrderStatus.PROVISIONED, OrderStatus.SUSPENDED):
        raise ServiceError(f"The server is {order.status}; it cannot be cancelled now.", status=409)
    stripe_gateway.subscription_update(
        subscription_id=order.stripe_subscription_id,
        params={"cancel_at_period_end": True},
        idempotency_key=f"order-{order.pk}-cancel-at-period-end",
    )
    Order.objects.filter(pk=order.pk).update(cancel_at_period_end=True)
    order_note(order=order, actor=f"customer:{user_id}", reason="cancel at period end requested")
    _billing_sync(order.pk)
    order.refresh_from_db()
    return order


def order_change_plan(*, order_id: int, user_id: int, plan_slug: str) -> Order:
    """Upgrade or downgrade: checked against the node first (nothing is charged for a size
    the node cannot hold), then the Stripe subscription item changes with proration, then the
    panel build is changed by the worker (build_pending until the panel confirms)."""
    from catalog.selectors import node_committed

    order = _customer_order(order_id=order_id, user_id=user_id)
    new_plan = plan_get_active(slug=plan_slug)
    if new_plan is None:
        raise NotFound(f"Unknown plan '{plan_slug}'.", code="unknown_plan")
    old_plan = order.plan
    if not order.stripe_subscription_id or not new_plan.recurring_interval:
        raise ServiceError(
            "Only subscription plans can be changed; buy the new size instead.", code="one_off"
        )
    if new_plan.pk == old_plan.pk:
        raise ServiceError("The server is already on this plan.", code="same_plan")
    if new_plan.game_id != old_plan.game_id or new_plan.egg_id != old_plan.egg_id:
        raise ServiceError("You can only change to a plan of the same game.", code="other_game")
    if order.status != OrderStatus.PROVISIONED:
        raise ServiceError(f"The server is {order.status}; it cannot be resized now.", status=409)
    node = order.allocation.node if order.allocation else None
    if node is None:
        raise ServiceError("The server's node is unknown; contact support.", status=409)
    memory, disk = node_committed(node=node)
    # Our own server is already counted in the node's committed figures: swap its size.
    if (
        memory - old_plan.memory + new_plan.memory > node.memory_ceiling
        or disk - old_plan.disk + new_plan.disk > node.disk_ceiling
    ):
        raise ServiceError(
            f"The machine your server runs on has no room for the {new_plan.name} plan. "
            "Nothing was charged. Contact support to move the server.",
            code="node_full",
            status=409,
        )
    subscription = stripe_gateway.subscription_retrieve(
        subscription_id=order.stripe_subscription_id
    )
    items = (subscription.get("items") or {}).get("data") or []
    if not items:
        raise ServiceError("The subscription has no item to change; contact support.", status=409)
    stripe_gateway.subscription_update(
        subscription_id=order.stripe_subscription_id,
        params={
            "items": [{"id": items[0]["id"], "price": new_plan.stripe_price_id}],
            "proration_behavior": "create_prorations",
        },
        idempotency_key=f"order-{order.pk}-plan-{new_plan.slug}-{order.updated_at.timestamp()}",
    )
    Order.objects.filter(pk=order.pk).update(plan=new_plan, build_pending=True)
    order_note(
        order=order,
        actor=f"customer:{user_id}",
        reason=f"plan changed {old_plan.slug} -> {new_plan.slug} (prorated)",
    )
    _billing_sync(order.pk)
    order.refresh_from_db()
    return order


def _billing_sync(order_id: int) -> None:
    from provisioning.lifecycle import billing_sync_enqueue

    billing_sync_enqueue(order_id=order_id)
