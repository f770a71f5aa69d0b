from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from billing.models import Order
from billing.services import (
    checkout_session_create,
    order_cancel_at_period_end,
    order_change_plan,
    order_resume,
)
from core.api_auth import django_auth
from storefront.selectors import customer_id

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


class ErrorOut(Schema):
    detail: str
    code: str


@router.post(
    "/checkout/session",
    auth=django_auth,
    response={
        201: CheckoutOut,
        400: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        502: ErrorOut,
        503: ErrorOut,
    },
)
def checkout_session(request: HttpRequest, payload: CheckoutIn) -> Status:
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
            order_id=result.order.pk, status=result.order.status, checkout_url=result.checkout_url
        ),
    )


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
