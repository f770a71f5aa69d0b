from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import HttpBearer, django_auth

from core.errors import NotFound
from provisioning.services import order_retry

router = Router(tags=["provisioning"])


class InternalToken(HttpBearer):
    """`Authorization: Bearer $INTERNAL_API_TOKEN` (compared in constant time)."""

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        expected = settings.INTERNAL_API_TOKEN
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return "internal-token"
        return None


def staff_session(request: HttpRequest) -> str | None:
    user = django_auth(request)
    if user is not None and getattr(user, "is_staff", False):
        return f"staff:{user.email}"  # type: ignore[union-attr]
    return None


class ProvisionIn(Schema):
    order_id: int


class ProvisionOut(Schema):
    order_id: int
    status: str


class ErrorOut(Schema):
    detail: str
    code: str


@router.post(
    "/servers/provision",
    auth=[InternalToken(), staff_session],
    response={202: ProvisionOut, 404: ErrorOut, 409: ErrorOut},
)
def provision(request: HttpRequest, payload: ProvisionIn) -> Status:
    """Queue provisioning for a 'paid' or 'error' order (idempotent)."""
    from billing.models import Order

    if not Order.objects.filter(pk=payload.order_id).exists():
        raise NotFound(f"Order #{payload.order_id} does not exist.")
    actor = str(request.auth)  # type: ignore[attr-defined]
    order = order_retry(order_id=payload.order_id, actor=f"api {actor}")
    return Status(202, ProvisionOut(order_id=order.pk, status=order.status))
