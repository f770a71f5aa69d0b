from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from core.api_auth import customer_id, django_auth, staff_auth
from core.errors import NotFound
from provisioning.services import order_change_variables, order_reinstall, order_retry

router = Router(tags=["provisioning"])


class InternalToken(HttpBearer):
    """`Authorization: Bearer $INTERNAL_API_TOKEN` (compared in constant time)."""

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        expected = settings.INTERNAL_API_TOKEN
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return "internal-token"
        return None


def staff_session(request: HttpRequest) -> str | None:
    user = staff_auth(request)
    if user is not None:
        return f"staff:{user.email}"
    return None


class InternalAuthRequired(AuthenticationError):
    """401 for the internal routes, saying what is missing (the README promises a 401)."""

    challenge = 'Bearer realm="givrwrld-internal"'


def refuse_internal(request: HttpRequest) -> None:
    """The last of the internal routes' auth callbacks: neither a valid token nor staff."""
    if request.headers.get("Authorization"):
        raise InternalAuthRequired(message="The bearer token is not valid for this API.")
    raise InternalAuthRequired(
        message="Send Authorization: Bearer <INTERNAL_API_TOKEN>, or log in as staff."
    )


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
    auth=[InternalToken(), staff_session, refuse_internal],
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


class ReinstallIn(Schema):
    confirm: bool = False


class VariablesIn(Schema):
    variables: dict[str, str | int | bool | None]


class ServerActionOut(Schema):
    order_id: int
    status: str
    detail: str


@router.post(
    "/servers/{order_id}/reinstall",
    auth=django_auth,
    response={202: ServerActionOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def reinstall(request: HttpRequest, order_id: int, payload: ReinstallIn) -> Status:
    order_reinstall(order_id=order_id, user_id=customer_id(request), confirm=payload.confirm)
    return Status(
        202,
        ServerActionOut(
            order_id=order_id, status="provisioned", detail="Reinstalling: files are wiped."
        ),
    )


@router.post(
    "/servers/{order_id}/variables",
    auth=django_auth,
    response={200: ServerActionOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def variables(request: HttpRequest, order_id: int, payload: VariablesIn) -> ServerActionOut:
    order = order_change_variables(
        order_id=order_id, user_id=customer_id(request), values=dict(payload.variables)
    )
    return ServerActionOut(
        order_id=order.pk, status=order.status, detail="Saved; applies at the next restart."
    )
