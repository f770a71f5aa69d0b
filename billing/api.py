from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth

from billing.services import checkout_session_create

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
