"""The customer's controls for a running server: cancel, resume, change plan, reinstall,
settings.
Each POST calls one service and comes back to the order page with a message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing.services import order_cancel_at_period_end, order_change_plan, order_resume
from core.errors import ServiceError
from panel.errors import PanelError, PanelRetryableError
from provisioning.services import order_change_variables, order_reinstall
from storefront.selectors import customer_id


@login_required
@require_POST
def server_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    user_id = customer_id(request)
    try:
        if action == "cancel":
            if request.POST.get("confirm") != "yes":
                # The confirmation step first (the page says until when the server runs).
                return redirect(f"{reverse('order', args=[order_id])}?confirm=cancel#manage")
            order_cancel_at_period_end(order_id=order_id, user_id=user_id)
            messages.success(
                request, "Cancelled: your server runs until the end of the paid period."
            )
        elif action == "resume":
            order_resume(order_id=order_id, user_id=user_id)
            messages.success(request, "Resumed: your subscription renews as before.")
        elif action == "plan":
            order = order_change_plan(
                order_id=order_id, user_id=user_id, plan_slug=request.POST.get("plan", "")
            )
            messages.success(request, f"Your server is moving to the {order.plan.name} plan.")
        elif action == "reinstall":
            order_reinstall(
                order_id=order_id, user_id=user_id, confirm=request.POST.get("confirm") == "yes"
            )
            messages.success(request, "Reinstalling: the server's files are being wiped.")
        elif action == "variables":
            values = {
                key.removeprefix("var_"): value
                for key, value in request.POST.items()
                if key.startswith("var_")
            }
            order_change_variables(order_id=order_id, user_id=user_id, values=values)
            messages.success(request, "Saved. The change applies at the next restart.")
        else:
            messages.error(request, "Unknown action.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    except PanelRetryableError:
        messages.error(request, "The game panel is not reachable right now; try again soon.")
    except PanelError as exc:
        messages.error(request, f"The game panel refused: {exc.message}")
    return redirect("order", order_id=order_id)
