"""Plain HTML pages for customers: pick a plan, pay, watch the order, see servers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing.services import checkout_session_create
from catalog.models import Region
from catalog.selectors import plan_get_active, plans_for_sale, region_stock
from core.errors import ServiceError
from storefront.selectors import customer_id, order_for_customer, orders_for_customer, panel_link


def home(request: HttpRequest) -> HttpResponse:
    regions = list(Region.objects.filter(active=True))
    offers = []
    for plan in plans_for_sale():
        stock = [(region, region_stock(region=region, plan=plan)) for region in regions]
        offers.append({"plan": plan, "stock": stock, "available": any(n for _, n in stock)})
    return render(request, "storefront/home.html", {"offers": offers})


@login_required
@require_http_methods(["GET", "POST"])
def buy(request: HttpRequest, plan_slug: str) -> HttpResponse:
    plan = plan_get_active(slug=plan_slug)
    if plan is None:
        raise Http404("No such plan.")
    regions = [(r, region_stock(region=r, plan=plan)) for r in Region.objects.filter(active=True)]
    variables = [plan.egg.variable(name) for name in plan.customer_variables]
    context = {"plan": plan, "regions": regions, "variables": [v for v in variables if v]}
    if request.method == "POST":
        chosen = {
            name: request.POST.get(f"var_{name}", "")
            for name in plan.customer_variables
            if f"var_{name}" in request.POST
        }
        try:
            result = checkout_session_create(
                user=request.user,  # type: ignore[arg-type]
                plan_slug=plan.slug,
                region_slug=request.POST.get("region", ""),
                server_name=request.POST.get("server_name", ""),
                variables=chosen,
            )
        except ServiceError as exc:
            context.update(error=exc.message, form=request.POST)
            return render(request, "storefront/buy.html", context, status=exc.status)
        return redirect(result.checkout_url)
    return render(request, "storefront/buy.html", context)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    orders = [(o, panel_link(o)) for o in orders_for_customer(user_id=customer_id(request))]
    return render(request, "storefront/dashboard.html", {"orders": orders})


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = order_for_customer(user_id=customer_id(request), order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    done = order.status in {"provisioned", "error", "cancelled", "terminated", "refunded"}
    return render(
        request,
        "storefront/order.html",
        {"order": order, "panel_url": panel_link(order), "refresh": not done},
    )


@login_required
def order_cancelled(request: HttpRequest, order_id: int) -> HttpResponse:
    order = order_for_customer(user_id=customer_id(request), order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return render(request, "storefront/cancelled.html", {"order": order})
