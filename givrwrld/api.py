"""The JSON API (Django Ninja): one router per app, mounted under /api/."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from billing.api import router as billing_router
from core.errors import ServiceError
from panel.errors import PanelError, PanelRetryableError
from provisioning.api import router as provisioning_router
from storefront.api import router as storefront_router

# OpenAPI docs at /api/docs (schema /api/openapi.json) for signed-in users only: the schema
# lists internal endpoints too, which strangers need not map.
api = NinjaAPI(
    title="GIVRwrld provisioning",
    version="1",
    urls_namespace="api",
    docs_decorator=login_required,
)
api.add_router("/", billing_router)
api.add_router("/", provisioning_router)
api.add_router("/", storefront_router)


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    # `extra`: what a refusal adds for the client, e.g. the pending checkout to complete.
    body = {"detail": exc.message, "code": exc.code, **getattr(exc, "extra", {})}
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # Ninja's own default message is "Unauthorized"; a route's auth may raise a clearer one.
    detail = exc.message if exc.message != "Unauthorized" else "Authentication required."
    response = api.create_response(
        request, {"detail": detail, "code": "unauthenticated"}, status=401
    )
    # RFC 9110 section 15.5.2: a 401 names the scheme that would work.
    response["WWW-Authenticate"] = getattr(exc, "challenge", 'Session realm="givrwrld"')
    return response


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "Invalid request.", "code": "invalid", "errors": exc.errors},
        status=422,
    )


@api.exception_handler(PanelError)
def panel_failed(request: HttpRequest, exc: PanelError) -> HttpResponse:
    """A customer action the panel could not do: say so plainly, never a 500."""
    if isinstance(exc, PanelRetryableError):
        body = {
            "detail": "The game panel is not reachable right now; try again soon.",
            "code": "panel_unavailable",
        }
        return api.create_response(request, body, status=503)
    body = {"detail": f"The game panel refused: {exc.message}", "code": "panel_refused"}
    return api.create_response(request, body, status=502)
