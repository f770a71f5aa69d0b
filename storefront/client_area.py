"""The client area's views: live state (HTML rows and a JSON endpoint the page polls), power
buttons, the panel password, and the way to invoices (Stripe's Customer Portal or the
charge's receipt). Thin: selectors in ``storefront.live_state``, services in
``provisioning.client_area`` and ``billing.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from billing.models import Order
from billing.portal import billing_portal_url, order_receipt_url
from billing.stripe_gateway import StripeRefused
from core.errors import ServiceError
from panel.errors import PanelError, PanelRetryableError
from provisioning.client_area import customer_panel_password_set, order_power_send
from storefront.live_state import live_states
from storefront.selectors import customer_id, order_for_customer, servers_for_customer

POWER_DONE = {
    "start": "Starting your server.",
    "stop": "Stopping your server.",
    "restart": "Restarting your server.",
    "kill": "Your server was killed (stopped at once).",
}


POWER_SIGNALS = [("start", "Start"), ("stop", "Stop"), ("restart", "Restart"), ("kill", "Kill")]


def client_area_context(order: Order) -> dict[str, Any]:
    """What the order page's client area needs (the live state read once)."""
    live = live_states(orders=[order]).get(order.pk)
    return {"live": live, "power_signals": POWER_SIGNALS}


def dashboard_context(orders: list[Order]) -> dict[str, Any]:
    """My servers: every row's live state, fetched together (cache, bounded parallel)."""
    return {"live": live_states(orders=orders), "power_signals": POWER_SIGNALS}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def live_all(request: HttpRequest) -> HttpResponse:
    """``{"servers": [...]}``: the live state of every server of the signed-in customer."""
    states = live_states(orders=servers_for_customer(user_id=customer_id(request)))
    return _no_store(JsonResponse({"servers": [s.as_json() for s in states.values()]}))


@login_required
@require_GET
def live_one(request: HttpRequest, order_id: int) -> HttpResponse:
    order = order_for_customer(user_id=customer_id(request), order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    states = live_states(orders=[order])
    return _no_store(JsonResponse({"servers": [s.as_json() for s in states.values()]}))


def _back(request: HttpRequest, order_id: int) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("order", args=[order_id])


@login_required
@require_POST
def power(request: HttpRequest, order_id: int, signal: str) -> HttpResponse:
    try:
        order_power_send(order_id=order_id, user_id=customer_id(request), signal=signal)
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404("No such order.") from None
        messages.error(request, exc.message)
    except PanelRetryableError:
        messages.error(request, "The game panel is not reachable right now; try again soon.")
    except PanelError as exc:
        messages.error(request, f"The game panel refused: {exc.message}")
    else:
        messages.success(request, POWER_DONE[signal])
    return redirect(_back(request, order_id))


@sensitive_post_parameters("password", "confirm")
@login_required
@require_POST
def panel_password(request: HttpRequest) -> HttpResponse:
    try:
        customer_panel_password_set(
            user_id=customer_id(request),
            password=request.POST.get("password", ""),
            confirm=request.POST.get("confirm", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    except PanelRetryableError:
        messages.error(request, "The game panel is not reachable right now; try again soon.")
    except PanelError as exc:
        messages.error(request, f"The game panel refused: {exc.message}")
    else:
        messages.success(request, "Your panel password is set. Log in to the panel with it.")
    return redirect("profile")


@login_required
@require_POST
def billing_portal(request: HttpRequest) -> HttpResponse:
    """POST (CSRF-protected: it creates a Stripe session), then off to Stripe's portal."""
    raw = request.POST.get("order", "")
    order_id = int(raw) if raw.isascii() and raw.isdigit() else None
    if raw and order_id is None:
        raise Http404("No such order.")
    back = reverse("order", args=[order_id]) if order_id else reverse("profile")
    try:
        url = billing_portal_url(user_id=customer_id(request), order_id=order_id)
    except ServiceError as exc:
        if exc.status == 404 and order_id is not None:
            raise Http404("No such order.") from None
        messages.error(request, exc.message)
        return redirect(back)
    except StripeRefused:
        messages.error(request, "The payment provider refused to open the billing portal.")
        return redirect(back)
    return redirect(url)


@login_required
@require_GET
def receipt(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        url = order_receipt_url(user_id=customer_id(request), order_id=order_id)
    except ServiceError as exc:
        if exc.code == "not_found":
            raise Http404("No such order.") from None
        messages.error(request, exc.message)
        return redirect("order", order_id=order_id)
    return redirect(url)
