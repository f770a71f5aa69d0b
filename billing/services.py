"""Billing's verbs: checkout, payment, cancellation."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from billing import stripe_gateway
from billing.idempotency import idempotency_key, order_next_request_key
from billing.mails import order_mail_schedule
from billing.models import Order, OrderStatus, StripeRefKind
from billing.ports import order_ports_set
from billing.resolution import order_for_session, stripe_ref_add
from billing.selectors import hold_is_open, holds_of_customer
from billing.signals import order_billing_changed, order_paid
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
from core.alerts import alert_send
from core.errors import NotFound, ServiceError, Unavailable
from core.text import texts_are_valid

logger = logging.getLogger(__name__)

# Our server name (the dashboard's), not the game's own: short enough to show on a phone.
SERVER_NAME_MAX = 60
# Stripe counts a session's expires_at (at least 30 minutes) from the moment it creates the
# session, a little after we computed the deadline: this much is added so the request's travel
# time can never push it under Stripe's minimum (Stripe API, checkout.sessions.create,
# expires_at: "anywhere from 30 minutes to 24 hours after Checkout Session creation").
EXPIRY_MARGIN_SECONDS = 60
_STRIPE_MAX_EXPIRY = 24 * 3600


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    checkout_url: str


class HoldLimitReached(ServiceError):
    """The customer already holds CHECKOUT_MAX_UNPAID unpaid checkouts."""

    status = 409
    code = "hold_limit"

    def __init__(self, message: str, *, order: Order | None) -> None:
        super().__init__(message)
        self.order = order
        self.complete_url = order.checkout_url if order is not None else ""
        # Added to the API's error body (givrwrld/api.py).
        self.extra = {
            "pending_order_id": order.pk if order is not None else None,
            "complete_url": self.complete_url,
        }


def _require_text(*values: Any) -> None:
    if not texts_are_valid(list(values)):
        raise ServiceError(
            "The request contains text that is not valid Unicode.", code="invalid_text"
        )


def _checkout_inputs(
    *, plan_slug: str, region_slug: str, server_name: str, variables: dict[str, Any]
) -> tuple[Plan, Region, str, dict[str, str]]:
    # Before any look-up: a lone surrogate cannot even be sent to the database.
    _require_text(plan_slug, region_slug, server_name, variables)
    plan = plan_get_active(slug=plan_slug)
    if plan is None:
        raise NotFound(f"Unknown plan '{plan_slug}'.", code="unknown_plan")
    region = region_get_active(slug=region_slug)
    if region is None:
        raise NotFound(f"Unknown region '{region_slug}'.", code="unknown_region")
    name = (server_name or "").strip()
    if not name:
        raise ServiceError("Give your server a name.", code="invalid_server_name")
    if any(unicodedata.category(c) == "Cc" for c in name):
        # NUL, tabs, newlines, escape sequences: nothing a name shown on a page should hold.
        raise ServiceError(
            "The server name may not contain control characters.", code="invalid_server_name"
        )
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


def hold_deadline() -> datetime:
    """When a checkout started now stops holding its capacity: also its session's expires_at
    (whole seconds, as Stripe takes it)."""
    now = int(timezone.now().timestamp())
    # The margin never pushes it past Stripe's maximum (24 hours after creation).
    seconds = min(settings.CHECKOUT_EXPIRES_SECONDS + EXPIRY_MARGIN_SECONDS, _STRIPE_MAX_EXPIRY)
    return datetime.fromtimestamp(now + seconds, tz=UTC)


def _order_create_with_reservation(
    *, user: User, plan: Plan, region: Region, server_name: str, variables: dict[str, str]
) -> Order:
    """Write the order holding a free port and its plan's room (invariant 3: nobody pays for a
    server that cannot be placed), unless the customer already holds CHECKOUT_MAX_UNPAID
    unpaid checkouts: one person cannot hoard a region."""

    def create(allocation: Allocation, extras: dict[str, Allocation]) -> Order:
        order = Order.objects.create(
            user=user,
            plan=plan,
            region=region,
            server_name=server_name,
            variables=variables,
            status=OrderStatus.PENDING,
            amount_cents=plan.price_cents,
            currency=plan.currency,
            stripe_price_id=plan.stripe_price_id,
            allocation=allocation,
            hold_expires_at=hold_deadline(),
        )
        # In the claim's savepoint with the order: all the set's ports, or none.
        order_ports_set(order=order, extras=extras)
        return order

    with transaction.atomic():
        # The customer's row lock makes "count the holds, then add one" a single step: ten
        # rapid clicks (or ten parallel requests) cannot pass the count together.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        held = list(holds_of_customer(user_id=user.pk))
        if len(held) >= settings.CHECKOUT_MAX_UNPAID:
            payable = next((o for o in held if o.checkout_url and hold_is_open(o)), None)
            raise HoldLimitReached(
                f"You already have {len(held)} unpaid checkout"
                f"{'s' if len(held) != 1 else ''} holding a server for you. Complete or "
                "remove one (My servers, Pending payments) before starting another.",
                order=payable,
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
    customer = _known_customer(user=user)
    try:
        session = _session_create(order=order, plan=plan, user=user, customer=customer)
    except (Unavailable, stripe_gateway.StripeRefused) as exc:
        order_cancel(order_id=order.pk, actor="checkout", reason=f"Stripe session failed: {exc}")
        if isinstance(exc, Unavailable):
            raise
        raise ServiceError(
            "Checkout could not be started; the shop's payment settings need attention.",
            code="payment_configuration",
            status=502,
        ) from exc
    # The proof every later event about this checkout is checked against.
    Order.objects.filter(pk=order.pk).update(
        stripe_session_id=session["id"], checkout_url=session.get("url") or ""
    )
    order.stripe_session_id = session["id"]
    order.checkout_url = session.get("url") or ""
    stripe_ref_add(
        order=order,
        kind=StripeRefKind.SESSION,
        stripe_id=session["id"],
        source="created at checkout",
    )
    return CheckoutResult(order=order, checkout_url=session["url"])


def checkout_abandon(*, order_id: int, user_id: int, actor: str) -> Order:
    """The customer gives up an unpaid checkout (Stripe's cancel page, or Remove in Pending
    payments): the session is expired at Stripe (POST /v1/checkout/sessions/{id}/expire), so
    it can no longer be paid, and the hold is freed at once. If Stripe says the session is
    already complete, the payment counts instead. Harmless to repeat."""
    order = Order.objects.filter(pk=order_id, user_id=user_id).first()
    if order is None:
        raise NotFound("No such order.")
    if order.status != OrderStatus.PENDING:
        return order
    if order.stripe_session_id:
        try:
            stripe_gateway.checkout_session_expire(session_id=order.stripe_session_id)
        except stripe_gateway.StripeRefused as exc:
            # Stripe refuses to expire a session that is not open: find out which way it went.
            session = stripe_gateway.checkout_session_retrieve(
                session_id=order.stripe_session_id, line_items=True
            )
            if session.get("status") == "complete":
                checkout_session_fulfil(session=session, actor=actor, verified=session)
                order.refresh_from_db()
                return order
            if session.get("status") == "open":
                raise ServiceError(
                    "Stripe did not let us close this checkout; try again in a minute.",
                    code="expire_refused",
                    status=502,
                ) from exc
    order_cancel(order_id=order.pk, actor=actor, reason="the customer cancelled the checkout")
    order.refresh_from_db()
    return order


def _known_customer(*, user: User) -> str:
    """The Stripe customer a paid order of this user proved theirs (its session created it):
    a returning customer keeps one Stripe customer, one saved card, one billing history."""
    return (
        Order.objects.filter(user=user, paid_at__isnull=False)
        .exclude(stripe_customer_id="")
        .order_by("-paid_at")
        .values_list("stripe_customer_id", flat=True)
        .first()
    ) or ""


def _session_create(*, order: Order, plan: Plan, user: User, customer: str) -> dict[str, Any]:
    """The order's Checkout Session. Attempt 1 names the known customer; if Stripe refuses it
    (deleted in the Dashboard), attempt 2 starts over with the e-mail address. Each attempt
    has its own idempotency key: the parameters differ."""
    params = _session_params(order=order, plan=plan, user=user, customer=customer)
    try:
        return stripe_gateway.checkout_session_create(
            params=params,
            idempotency_key=idempotency_key(
                order_id=order.pk, purpose="checkout-session", attempt=1
            ),
        )
    except stripe_gateway.StripeRefused:
        if not customer:
            raise
        logger.warning(
            "Stripe refused customer %s for order #%s; using the e-mail", customer, order.pk
        )
    return stripe_gateway.checkout_session_create(
        params=_session_params(order=order, plan=plan, user=user, customer=""),
        idempotency_key=idempotency_key(order_id=order.pk, purpose="checkout-session", attempt=2),
    )


def _session_params(*, order: Order, plan: Plan, user: User, customer: str) -> dict[str, Any]:
    order_ref = str(order.pk)
    # Session metadata is not copied to the PaymentIntent or the Subscription, so the order id
    # goes there too: for the operator reading the Dashboard. It is never what finds the
    # order (billing.resolution: our stored ids do).
    mode_params: dict[str, Any]
    if plan.recurring_interval:
        mode_params = {
            "mode": "subscription",
            "subscription_data": {"metadata": {"order_id": order_ref}},
        }
    else:
        pi_data: dict[str, Any] = {"metadata": {"order_id": order_ref}}
        if settings.STRIPE_RECEIPT_EMAILS:
            # Stripe e-mails a receipt to this address when the payment succeeds (Stripe API,
            # payment_intent_data.receipt_email). Subscription invoices are e-mailed to the
            # customer's own e-mail by the Dashboard's "Email customers about successful
            # payments" setting.
            pi_data["receipt_email"] = user.email
        mode_params = {"mode": "payment", "payment_intent_data": pi_data}
    if settings.STRIPE_ALLOW_PROMOTION_CODES:
        # Stripe's own promotion code field on the Checkout page; the discount is checked
        # against amount_subtotal when the session is paid (_session_mismatch).
        mode_params["allow_promotion_codes"] = True
    if settings.STRIPE_AUTOMATIC_TAX:
        # Stripe Tax works the tax out from the customer's address, so Checkout must ask for
        # it (Stripe docs, "Collect taxes" with Checkout: billing_address_collection).
        mode_params["automatic_tax"] = {"enabled": True}
        mode_params["billing_address_collection"] = "required"
        if customer:
            # Stripe: with automatic tax and an existing customer, the address entered at
            # Checkout must be saved onto the customer (customer_update[address]=auto).
            mode_params["customer_update"] = {"address": "auto"}
    # Either the customer we know, or their e-mail for Stripe to create one (not both:
    # Stripe refuses customer with customer_email).
    mode_params.update({"customer": customer} if customer else {"customer_email": user.email})
    return {
        **mode_params,
        "line_items": [{"price": order.stripe_price_id or plan.stripe_price_id, "quantity": 1}],
        "client_reference_id": order_ref,
        "metadata": {"order_id": order_ref},
        "success_url": f"{settings.API_URL}/orders/{order.pk}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{settings.API_URL}/orders/{order.pk}/cancel",
        # The hold's own deadline: the session cannot be paid after the hold ends.
        "expires_at": int((order.hold_expires_at or hold_deadline()).timestamp()),
    }


def order_mark_paid(*, order_id: int, session: dict[str, Any], actor: str) -> bool:
    """Stripe says the order is paid. Returns whether it changed: a paid (or later) order is
    left alone, so duplicate and concurrent deliveries are harmless, and only the Checkout
    Session stored on the order can pay it (an order with none stored, e.g. cancelled because
    its checkout failed, is never paid by any session)."""
    updates = {
        "paid_at": timezone.now(),
        "stripe_customer_id": session.get("customer") or "",
        "stripe_payment_intent_id": session.get("payment_intent") or "",
        "stripe_subscription_id": session.get("subscription") or None,
    }
    reason = f"Checkout Session {session['id']} is {session.get('payment_status')}"
    # savepoint=False: inside the webhook's transaction a savepoint is two round trips for
    # nothing (any failure here fails the whole event anyway).
    with transaction.atomic(savepoint=False):
        # A cancelled order that Stripe still charged must still be served (invariant 2).
        changed = any(
            order_transition_if(
                order_id=order_id,
                from_status=from_status,
                to=OrderStatus.PAID,
                actor=actor,
                reason=reason,
                updates=updates,
                where=Q(stripe_session_id=session["id"]),
            )
            for from_status in (OrderStatus.PENDING, OrderStatus.CANCELLED)
        )
        if changed:
            # First seen under the proven session: from now on they prove events too.
            order = Order(pk=order_id)
            source = f"Checkout Session {session['id']}"
            if session.get("subscription"):
                stripe_ref_add(
                    order=order,
                    kind=StripeRefKind.SUBSCRIPTION,
                    stripe_id=session["subscription"],
                    source=source,
                )
            if session.get("payment_intent"):
                stripe_ref_add(
                    order=order,
                    kind=StripeRefKind.PAYMENT_INTENT,
                    stripe_id=session["payment_intent"],
                    source=source,
                )
            # Queued in the webhook's transaction, sent by the worker; once per order
            # (billing/mails.py).
            # What Stripe charged (after any promotion code and tax), not only the list price.
            order_mail_schedule(
                order_id=order_id, kind="receipt", paid_cents=session.get("amount_total")
            )
        return changed


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
    # The session is the order's but does not pay for it (amount, currency, mode, price).
    refused: bool = False


def _line_item_prices(session: dict[str, Any]) -> list[tuple[str, int]]:
    items = ((session.get("line_items") or {}).get("data")) or []
    return [
        (str((item.get("price") or {}).get("id") or ""), int(item.get("quantity") or 0))
        for item in items
    ]


def _money(cents: Any, currency: str) -> str:
    return f"{cents} {currency.upper()} (minor units)"


def session_mismatch(*, order: Order, session: dict[str, Any]) -> str:
    """Why a paid session does not pay for this order ("" when it does): the mode, currency,
    price and amount must be what the order was sold for. With STRIPE_ALLOW_PROMOTION_CODES
    the discount is Stripe's (total_details.amount_discount), so the price before it
    (amount_subtotal) is what must match; with STRIPE_AUTOMATIC_TAX Stripe may add tax
    (total_details.amount_tax) on top. `session` must have its line items expanded."""
    plan = order.plan
    expected_mode = "subscription" if plan.recurring_interval else "payment"
    problems: list[str] = []
    if session.get("mode") != expected_mode:
        problems.append(f"mode {session.get('mode')}, the order needs {expected_mode}")
    currency = str(session.get("currency") or "")
    if currency.lower() != order.currency.lower():
        problems.append(f"currency {currency or 'none'}, the order is in {order.currency}")
    price_id = order.stripe_price_id or plan.stripe_price_id
    prices = _line_item_prices(session)
    if prices != [(price_id, 1)]:
        shown = ", ".join(f"{p} x{q}" for p, q in prices) or "none"
        problems.append(f"line items {shown}, the order is 1 x {price_id}")
    totals = session.get("total_details") or {}
    discount = int(totals.get("amount_discount") or 0)
    tax = int(totals.get("amount_tax") or 0)
    subtotal, total = session.get("amount_subtotal"), session.get("amount_total")
    if discount and not settings.STRIPE_ALLOW_PROMOTION_CODES:
        problems.append(f"a discount of {discount}, but promotion codes are off")
    if tax and not settings.STRIPE_AUTOMATIC_TAX:
        problems.append(f"tax of {tax}, but automatic tax is off")
    # Exclusive tax is added to the total; inclusive tax is already in the subtotal.
    possible_totals = {order.amount_cents - discount + tax, order.amount_cents - discount}
    if subtotal != order.amount_cents or total not in possible_totals:
        problems.append(
            f"paid {_money(total, currency)} (subtotal {subtotal}, discount {discount}, tax "
            f"{tax}), the order costs {_money(order.amount_cents, order.currency)}"
        )
    return "; ".join(problems)


def _refuse_payment(*, order: Order, session: dict[str, Any], why: str, actor: str) -> str:
    note = f"Checkout Session {session['id']} was paid but does not match the order: {why}"
    order_note(order=order, actor=actor, reason=f"not marked paid: {note}")
    # After commit: a duplicate delivery (whose transaction rolls back) alerts nobody twice.
    transaction.on_commit(
        lambda: alert_send(
            title=f"Order #{order.pk}: payment does not match the order",
            body=f"{note}. The order stays unpaid and no server is created. Check the plan's "
            "price and currency against Stripe (admin -> Catalog -> Plans), then refund the "
            "payment in the Stripe Dashboard or fix the order.",
            order_id=order.pk,
        )
    )
    return f"not paid: {why}"


def checkout_session_fulfil(
    *, session: dict[str, Any], actor: str, verified: dict[str, Any] | None = None
) -> SessionResult:
    """The one fulfilment path (Stripe's guidance), for the webhook and the reconciler alike:
    safe to run any number of times, concurrently, for the same session.

    Only the session stored on the order can pay it, and only when what was paid matches
    what was ordered: the session is read back from Stripe with its line items (one call;
    `verified` when the caller has just read it so), since an event never carries them."""
    found = order_for_session(session)
    order = found.order
    if order is None:
        return SessionResult(None, found.reason)
    if session.get("payment_status") not in _FULFIL_PAYMENT_STATUSES:
        # A delayed payment method: async_payment_succeeded (or the reconciler) comes later.
        return SessionResult(
            order, f"payment_status={session.get('payment_status')}: waiting for the payment"
        )
    if order.status not in (OrderStatus.PENDING, OrderStatus.CANCELLED):
        return SessionResult(order, "order already paid")
    full = verified or stripe_gateway.checkout_session_retrieve(
        session_id=session["id"], line_items=True
    )
    if full.get("payment_status") not in _FULFIL_PAYMENT_STATUSES:
        return SessionResult(
            order, f"Stripe says payment_status={full.get('payment_status')}: not paid"
        )
    why = session_mismatch(order=order, session=full)
    if why:
        note = _refuse_payment(order=order, session=full, why=why, actor=actor)
        return SessionResult(order, note, refused=True)
    if order_mark_paid(order_id=order.pk, session=full, actor=actor):
        order_paid.send(sender=Order, order_id=order.pk)  # provisioning queues the server
        return SessionResult(order, "order paid, provisioning queued")
    return SessionResult(order, "order already paid")


def checkout_session_close(*, session: dict[str, Any], actor: str, reason: str) -> SessionResult:
    """The session ended unpaid (expired, or a delayed payment failed): release the port."""
    found = order_for_session(session)
    order = found.order
    if order is None:
        return SessionResult(None, found.reason)
    if order.status != OrderStatus.PENDING:
        return SessionResult(order, f"order already {order.status}")
    order_cancel(order_id=order.pk, actor=actor, reason=reason)
    return SessionResult(order, "order cancelled, port released")


def order_reconcile_pending(*, order_id: int, actor: str = "reconciler") -> str:
    """Ask Stripe about a 'pending' order whose webhook may have been missed. Returns a note."""
    order = Order.objects.get(pk=order_id)
    if order.status != OrderStatus.PENDING:
        return f"order is {order.status}"
    if not order.stripe_session_id:
        # The checkout stopped between writing the order and storing its session: once the
        # hold is over no session of it can be paid (its expires_at is the hold's end).
        if order.hold_expires_at is not None and order.hold_expires_at <= timezone.now():
            order_cancel(order_id=order.pk, actor=actor, reason="hold ended with no session")
            return "hold ended with no Checkout Session: order cancelled, port released"
        return "no Checkout Session yet"
    session = stripe_gateway.checkout_session_retrieve(
        session_id=order.stripe_session_id, line_items=True
    )
    if session.get("status") == "expired":
        return checkout_session_close(
            session=session, actor=actor, reason="checkout session expired (found by reconciler)"
        ).note
    if session.get("status") == "complete":
        return checkout_session_fulfil(session=session, actor=actor, verified=session).note
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
    if order.cancel_at_period_end:
        raise ServiceError(
            "The subscription is already cancelled at the end of the period.",
            code="already_cancelled",
            status=409,
        )
    _set_cancel_at_period_end(order=order, user_id=user_id, cancel=True)
    return order


def order_resume_refusal(order: Order) -> ServiceError | None:
    """Why the order's subscription cannot be resumed now (None: it can). The order page
    shows the Resume button exactly when this is None."""
    if not order.stripe_subscription_id:
        return ServiceError(
            "This server was paid once; there is nothing to resume.", code="one_off"
        )
    if not order.cancel_at_period_end:
        return ServiceError(
            "The subscription is not cancelled; there is nothing to resume.",
            code="not_cancelled",
            status=409,
        )
    if order.status not in (OrderStatus.PROVISIONED, OrderStatus.SUSPENDED) or (
        order.subscription_status == "canceled"
    ):
        return ServiceError(
            "The subscription has ended; it cannot be resumed. Buy a new server instead.",
            code="ended",
            status=409,
        )
    return None


def order_resume(*, order_id: int, user_id: int) -> Order:
    """The customer changes their mind before the period ends: the subscription renews again
    (Stripe: update cancel_at_period_end=false, allowed until the subscription has ended)."""
    order = _customer_order(order_id=order_id, user_id=user_id)
    refusal = order_resume_refusal(order)
    if refusal is not None:
        raise refusal
    _set_cancel_at_period_end(order=order, user_id=user_id, cancel=False)
    return order


def _set_cancel_at_period_end(*, order: Order, user_id: int, cancel: bool) -> None:
    purpose = "cancel-at-period-end" if cancel else "resume"
    assert order.stripe_subscription_id
    stripe_gateway.subscription_update(
        subscription_id=order.stripe_subscription_id,
        params={"cancel_at_period_end": cancel},
        # A fresh key per request: cancel -> resume -> cancel sends the same parameters
        # again, and Stripe would answer the old response to a reused key.
        idempotency_key=order_next_request_key(order_id=order.pk, purpose=purpose),
    )
    Order.objects.filter(pk=order.pk).update(cancel_at_period_end=cancel)
    order_note(
        order=order,
        actor=f"customer:{user_id}",
        reason="cancel at period end requested" if cancel else "subscription resumed",
    )
    _billing_sync(order.pk)
    order.refresh_from_db()


def order_change_plan(*, order_id: int, user_id: int, plan_slug: str) -> Order:
    """Upgrade or downgrade: checked against the node first (nothing is charged for a size
    the node cannot hold), then the Stripe subscription item changes with proration, then the
    panel build is changed by the worker (build_pending until the panel confirms)."""
    from catalog.selectors import node_committed, node_cpu_committed

    _require_text(plan_slug)
    order = _customer_order(order_id=order_id, user_id=user_id)
    new_plan = plan_get_active(slug=plan_slug)
    if new_plan is None:
        raise NotFound(f"Unknown plan '{plan_slug}'.", code="unknown_plan")
    old_plan = order.plan
    if not order.stripe_subscription_id or not new_plan.recurring_interval:
        raise ServiceError(
            "Only subscription plans can be changed; buy the new size instead.", code="one_off"
        )
    refusal = plan_change_refusal(order)
    if refusal is not None:
        raise refusal
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
    cpu = node_cpu_committed(node=node)
    # Our own server is already counted in the node's committed figures: swap its size (the
    # same limits as the stock: catalog.selectors.node_room).
    if (
        memory - old_plan.memory + new_plan.memory > node.memory_ceiling
        or disk - old_plan.disk + new_plan.disk > node.disk_ceiling
        or cpu - old_plan.cpu + new_plan.cpu > node.cpu_ceiling
    ):
        raise ServiceError(
            f"The machine your server runs on has no room for the {new_plan.name} plan. "
            "Nothing was charged. Contact support to move the server.",
            code="node_full",
            status=409,
        )
    if not _plan_ports_fit(order=order, plan=new_plan):
        raise ServiceError(
            f"The machine your server runs on has no free ports for the {new_plan.name} plan. "
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
        idempotency_key=order_next_request_key(order_id=order.pk, purpose=f"plan-{new_plan.slug}"),
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


def _plan_ports_fit(*, order: Order, plan: Plan) -> bool:
    """The new plan's port template fits around the server's primary port: the slots both
    plans share are kept, the new ones must be free on the primary's IP."""
    from billing.ports import order_extras
    from catalog.ports import Free, extras_for_primary
    from catalog.selectors import free_ports

    template = plan.ports()
    primary = order.allocation
    assert primary is not None
    held = {s: a.pk for s, a in order_extras(order=order).items() if s in template.slots}
    if set(held) == set(template.slots):
        return True
    chosen = extras_for_primary(
        free=free_ports(node=primary.node, plan=plan),
        template=template,
        primary=Free(pk=primary.pk, ip=primary.ip, port=primary.port),
        have=held,
    )
    return chosen is not None


# Subscription states in which a plan change is offered (Stripe's subscription.status).
_CHANGEABLE_SUBSCRIPTION = ("active", "trialing")


def plan_change_refusal(order: Order) -> ServiceError | None:
    """Why the order's plan cannot be changed now (None: it can). The order page offers
    Change plan exactly when this is None: a running server on a subscription that renews."""
    if not order.stripe_subscription_id or not order.plan.recurring_interval:
        return ServiceError(
            "Only subscription plans can be changed; buy the new size instead.", code="one_off"
        )
    if order.status != OrderStatus.PROVISIONED:
        return ServiceError(f"The server is {order.status}; it cannot be resized now.", status=409)
    if order.cancel_at_period_end:
        return ServiceError(
            "The subscription is cancelled at the end of the period; resume it first.",
            code="cancelled",
            status=409,
        )
    if order.subscription_status and order.subscription_status not in _CHANGEABLE_SUBSCRIPTION:
        return ServiceError(
            f"The subscription is {order.subscription_status}; it cannot be changed now.",
            code="not_active",
            status=409,
        )
    return None


@dataclass(frozen=True)
class PlanQuote:
    plan: Plan
    # The prorated difference Stripe's invoice preview adds to the next invoice (negative: a
    # credit); None when Stripe could not say.
    proration_cents: int | None

    @property
    def credit_cents(self) -> int:
        return -self.proration_cents if self.proration_cents and self.proration_cents < 0 else 0


def _proration_total(invoice: dict[str, Any]) -> int:
    """The proration lines of a preview invoice. Since API 2025-03-31.basil a line says so
    under its parent: parent.invoice_item_details.proration (the pending proration items) or
    parent.subscription_item_details.proration (stripe/_invoice_line_item.py in the SDK);
    older versions on the line itself."""
    total = 0
    for line in (invoice.get("lines") or {}).get("data") or []:
        parent = line.get("parent") or {}
        flags = [
            (parent.get(kind) or {}).get("proration")
            for kind in ("invoice_item_details", "subscription_item_details")
        ]
        if any(flags) or line.get("proration"):
            total += int(line.get("amount") or 0)
    return total


def plan_change_quotes(*, order: Order) -> list[PlanQuote]:
    """The plans the server can move to, each with the prorated amount from Stripe's invoice
    preview ([] when a change is not offered). One subscription read plus one preview per
    plan; nothing changes at Stripe."""
    if plan_change_refusal(order) is not None:
        return []
    plans = list(
        Plan.objects.filter(
            game_id=order.plan.game_id,
            egg_id=order.plan.egg_id,
            active=True,
            recurring_interval=order.plan.recurring_interval,
        )
        .exclude(pk=order.plan_id)
        .exclude(stripe_price_id="")
        .order_by("sort_order", "price_cents")
    )
    if not plans:
        return []
    assert order.stripe_subscription_id
    try:
        subscription = stripe_gateway.subscription_retrieve(
            subscription_id=order.stripe_subscription_id
        )
    except (ServiceError, stripe_gateway.StripeRefused):
        return [PlanQuote(plan=p, proration_cents=None) for p in plans]
    items = (subscription.get("items") or {}).get("data") or []
    quotes = []
    for plan in plans:
        cents: int | None = None
        if items:
            try:
                preview = stripe_gateway.invoice_preview(
                    subscription_id=order.stripe_subscription_id,
                    items=[{"id": items[0]["id"], "price": plan.stripe_price_id}],
                )
                cents = _proration_total(preview)
            except (ServiceError, stripe_gateway.StripeRefused):
                cents = None
        quotes.append(PlanQuote(plan=plan, proration_cents=cents))
    return quotes


def _billing_sync(order_id: int) -> None:
    order_billing_changed.send(sender=Order, order_id=order_id)  # provisioning queues a sync
