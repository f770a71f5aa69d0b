"""Customer pages: games → plans → region and settings → Stripe Checkout → order progress →
dashboard. Thin: selectors read, `checkout_session_create` writes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing.services import checkout_session_create, order_resume_refusal
from catalog.selectors import plan_get_active
from core.errors import ServiceError
from storefront.client_area import client_area_context, dashboard_context
from storefront.forms import CheckoutForm
from storefront.selectors import (
    FINAL_STATUSES,
    customer_id,
    game_for_sale,
    game_offers,
    order_for_customer,
    panel_base_url,
    panel_link,
    plans_of_game,
    region_offers,
    server_controls,
    servers_for_customer,
)

# Which form field a checkout refusal belongs next to.
_ERROR_FIELDS = {
    "sold_out": "region",
    "unknown_region": "region",
    "invalid_server_name": "server_name",
}


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "storefront/home.html", {"offers": game_offers()})


def game_detail(request: HttpRequest, game_slug: str) -> HttpResponse:
    game = game_for_sale(slug=game_slug)
    if game is None:
        raise Http404("No such game.")
    plans = []
    for plan in plans_of_game(game=game):
        regions = region_offers(plan=plan)
        plans.append((plan, regions, any(not r.sold_out for r in regions)))
    return render(request, "storefront/game.html", {"game": game, "plans": plans})


@login_required
@require_http_methods(["GET", "POST"])
def buy(request: HttpRequest, plan_slug: str) -> HttpResponse:
    plan = plan_get_active(slug=plan_slug)
    if plan is None:
        raise Http404("No such plan.")
    regions = region_offers(plan=plan)
    if request.method != "POST":
        form = CheckoutForm.empty(plan=plan, regions=regions)
        return render(request, "storefront/buy.html", {"plan": plan, "form": form})
    form = CheckoutForm.bind(plan=plan, regions=regions, data=request.POST)
    status = 422
    if form.valid:
        try:
            result = checkout_session_create(
                user=request.user,  # type: ignore[arg-type]
                plan_slug=plan.slug,
                region_slug=form.region,
                server_name=form.server_name,
                variables=form.chosen,
            )
        except ServiceError as exc:
            form.add_error(_ERROR_FIELDS.get(exc.code, "form"), exc.message)
            status = exc.status
        else:
            return redirect(result.checkout_url)
    return render(request, "storefront/buy.html", {"plan": plan, "form": form}, status=status)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    base = panel_base_url()
    orders = list(servers_for_customer(user_id=customer_id(request)))
    rows = [(o, panel_link(o, base)) for o in orders]
    return render(request, "storefront/dashboard.html", {"rows": rows, **dashboard_context(orders)})


def _order_context(request: HttpRequest, order_id: int) -> dict:
    order = order_for_customer(user_id=customer_id(request), order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return {
        "order": order,
        "panel_url": panel_link(order),
        "done": order.status in FINAL_STATUSES,
        "steps": _steps(order.status),
        "can_resume": order_resume_refusal(order) is None,
        **server_controls(order),
    }


def _steps(status: str) -> list[tuple[str, str]]:
    """The progress line: (label, state) with state done | current | todo | failed."""
    order = ["pending", "paid", "provisioning", "provisioned"]
    labels = ["Payment", "Paid", "Setting up", "Ready"]
    if status == "error":
        return [
            (labels[0], "done"),
            (labels[1], "done"),
            (labels[2], "failed"),
            (labels[3], "todo"),
        ]
    if status not in order:
        return []
    at = order.index(status)
    out = []
    for i, label in enumerate(labels):
        state = "done" if i < at or status == "provisioned" else "current" if i == at else "todo"
        out.append((label, state))
    return out


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    context = _order_context(request, order_id)
    context.update(client_area_context(context["order"]))
    return render(request, "storefront/order.html", context)


@login_required
def order_progress(request: HttpRequest, order_id: int) -> HttpResponse:
    """The part of the order page that changes; the page polls it (no full reload)."""
    response = render(request, "storefront/_order_progress.html", _order_context(request, order_id))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def order_cancelled(request: HttpRequest, order_id: int) -> HttpResponse:
    order = order_for_customer(user_id=customer_id(request), order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return render(request, "storefront/cancelled.html", {"order": order})
