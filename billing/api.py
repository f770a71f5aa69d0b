from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from billing.limits import checkout_attempt_check
from billing.models import Order
from billing.selectors import pending_checkouts_of_customer
from billing.services import (
    checkout_abandon,
    checkout_session_create,
    order_cancel_at_period_end,
    order_change_plan,
    order_resume,
)
from core.api_auth import customer_id, django_auth

router = Router(tags=["checkout"])


class CheckoutIn(Schema):
    plan: str = Field(description="plan slug")
    region: str = Field(description="region slug")
    server_name: str
    variables: dict[str, str | int | bool | None] = Field(default_factory=dict)


class CheckoutOut(Schema):
    order_id: int
    status: str
    checkout_url: str
    hold_expires_at: datetime | None


class ErrorOut(Schema):
    detail: str
    code: str


class HoldLimitOut(ErrorOut):
    pending_order_id: int | None
    complete_url: str


@router.post(
    "/checkout/session",
    auth=django_auth,
    response={
        201: CheckoutOut,
        400: ErrorOut,
        404: ErrorOut,
        409: HoldLimitOut | ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
        502: ErrorOut,
        503: ErrorOut,
    },
)
def checkout_session(request: HttpRequest, payload: CheckoutIn) -> Status:
    """Start a checkout: holds the capacity until `hold_expires_at` (the session's expiry).
    409 `hold_limit` when the customer already has CHECKOUT_MAX_UNPAID unpaid checkouts (with
    `complete_url`, the pending one's Stripe page); 429 `rate_limited` past
    RATE_LIMIT_CHECKOUT; 409 `sold_out`."""
    checkout_attempt_check(request)
    result = checkout_session_create(
        user=request.user,  # type: ignore[arg-type]
        plan_slug=payload.plan,
        region_slug=payload.region,
        server_name=payload.server_name,
        variables=dict(payload.variables),
    )
    return Status(
        201,
        CheckoutOut(
            order_id=result.order.pk,
            status=result.order.status,
            checkout_url=result.checkout_url,
            hold_expires_at=result.order.hold_expires_at,
        ),
    )


class PendingCheckoutOut(Schema):
    order_id: int
    server_name: str
    game: str
    plan: str
    region: str
    complete_url: str
    hold_expires_at: datetime | None


@router.get("/checkouts", auth=django_auth, response=list[PendingCheckoutOut])
def pending_checkouts(request: HttpRequest) -> list[PendingCheckoutOut]:
    """The customer's open unpaid checkouts (expired and cancelled ones are not listed)."""
    return [
        PendingCheckoutOut(
            order_id=o.pk,
            server_name=o.server_name,
            game=o.plan.game.name,
            plan=o.plan.name,
            region=o.region.name,
            complete_url=o.checkout_url,
            hold_expires_at=o.hold_expires_at,
        )
        for o in pending_checkouts_of_customer(user_id=customer_id(request))
    ]


class CheckoutCancelOut(Schema):
    order_id: int
    status: str


@router.post(
    "/checkouts/{order_id}/cancel",
    auth=django_auth,
    response={200: CheckoutCancelOut, 404: ErrorOut, 502: ErrorOut, 503: ErrorOut},
)
def checkout_cancel(request: HttpRequest, order_id: int) -> CheckoutCancelOut:
    """Give up an unpaid checkout: Stripe expires its session and the hold is freed at once
    (status 'cancelled'; 'paid' if Stripe says it was paid after all)."""
    order = checkout_abandon(
        order_id=order_id, user_id=customer_id(request), actor=f"customer:{customer_id(request)}"
    )
    return CheckoutCancelOut(order_id=order.pk, status=order.status)


class ServerStateOut(Schema):
    order_id: int
    status: str
    plan: str
    cancel_at_period_end: bool
    build_pending: bool


def _state(order: Order) -> ServerStateOut:
    return ServerStateOut(
        order_id=order.pk,
        status=order.status,
        plan=order.plan.slug,
        cancel_at_period_end=order.cancel_at_period_end,
        build_pending=order.build_pending,
    )


@router.post(
    "/servers/{order_id}/cancel",
    auth=django_auth,
    response={200: ServerStateOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 503: ErrorOut},
)
def cancel(request: HttpRequest, order_id: int) -> ServerStateOut:
    """Cancel the subscription at the end of the paid period."""
    order = order_cancel_at_period_end(order_id=order_id, user_id=customer_id(request))
    return _state(order)


@router.post(
    "/servers/{order_id}/resume",
    auth=django_auth,
    response={200: ServerStateOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 503: ErrorOut},
)
def resume(request: HttpRequest, order_id: int) -> ServerStateOut:
    """Undo a cancellation at period end: the subscription renews again."""
    order = order_resume(order_id=order_id, user_id=customer_id(request))
    return _state(order)


class PlanChangeIn(Schema):
    plan: str


@router.post(
    "/servers/{order_id}/plan",
    auth=django_auth,
    response={200: ServerStateOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 503: ErrorOut},
)
def change_plan(request: HttpRequest, order_id: int, payload: PlanChangeIn) -> ServerStateOut:
    """Upgrade or downgrade (prorated); refused before any charge if the node is too full."""
    order = order_change_plan(
        order_id=order_id, user_id=customer_id(request), plan_slug=payload.plan
    )
    return _state(order)
