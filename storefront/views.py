"""Customer pages: games → plans → region and settings → Stripe Checkout → order progress →
dashboard. Thin: selectors read, `checkout_session_create` writes."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billing.limits import checkout_attempt_check
from billing.models import Order
from billing.ports import order_port_lines
from billing.selectors import hold_is_open, pending_checkouts_of_customer
from billing.services import (
    SERVER_NAME_MAX,
    HoldLimitReached,
    checkout_abandon,
    checkout_session_create,
    order_resume_refusal,
)
from catalog.models import Plan
from catalog.selectors import plan_get_active, region_get_active
from catalog.waitlist import waitlist_join
from core.errors import NotFound, ServiceError
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
        form = CheckoutForm.empty(
            plan=plan, regions=regions, prefer=request.GET.get("region", "")[:50]
        )
        return render(request, "storefront/buy.html", _buy_context(plan=plan, form=form))
    form = CheckoutForm.bind(plan=plan, regions=regions, data=request.POST)
    status = 422
    complete_url = ""
    if form.valid:
        try:
            checkout_attempt_check(request)
            result = checkout_session_create(
                user=request.user,  # type: ignore[arg-type]
                plan_slug=plan.slug,
                region_slug=form.region,
                server_name=form.server_name,
                variables=form.chosen,
            )
        except HoldLimitReached as exc:
            form.add_error("form", exc.message)
            complete_url = exc.complete_url
            status = exc.status
        except ServiceError as exc:
            form.add_error(_ERROR_FIELDS.get(exc.code, "form"), exc.message)
            status = exc.status
        else:
            return redirect(result.checkout_url)
    context = _buy_context(plan=plan, form=form, complete_url=complete_url)
    return render(request, "storefront/buy.html", context, status=status)


@require_POST
def waitlist_join_view(request: HttpRequest, plan_slug: str, region_slug: str) -> HttpResponse:
    """ "Notify me" on a sold-out region (catalog/waitlist.py). Not signed in: to the log-in
    page, then back to the plan's page (where the button is again)."""
    plan = plan_get_active(slug=plan_slug)
    region = region_get_active(slug=region_slug)
    if plan is None or region is None:
        raise Http404("No such plan or region.")
    back = reverse("buy", args=[plan.slug])
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    try:
        joined = waitlist_join(user_id=customer_id(request), plan=plan, region=region)
    except ServiceError as exc:
        messages.info(request, exc.message)
        return redirect(f"{back}?region={region.slug}")
    email = request.user.email  # type: ignore[union-attr]
    if joined.added:
        messages.success(
            request,
            f"You are on the list for {plan} in {region.name} (number {joined.position}). "
            f"We will e-mail {email} when it is back.",
        )
    else:
        messages.info(
            request,
            f"You are already on the list for {plan} in {region.name} "
            f"(number {joined.position}). We will e-mail {email} when it is back.",
        )
    return redirect(back)


def _buy_context(*, plan: Plan, form: CheckoutForm, complete_url: str = "") -> dict:
    return {
        "plan": plan,
        "form": form,
        "complete_url": complete_url,
        "server_name_max": SERVER_NAME_MAX,
        "hold_minutes": settings.CHECKOUT_EXPIRES_SECONDS // 60,
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    base = panel_base_url()
    user_id = customer_id(request)
    orders = list(servers_for_customer(user_id=user_id))
    rows = [(o, panel_link(o, base)) for o in orders]
    pending = list(pending_checkouts_of_customer(user_id=user_id))
    return render(
        request,
        "storefront/dashboard.html",
        {"rows": rows, "pending": pending, **dashboard_context(orders)},
    )


@login_required
@require_POST
def pending_remove(request: HttpRequest, order_id: int) -> HttpResponse:
    """Remove in Pending payments: the checkout's session is expired at Stripe and its hold
    freed."""
    user_id = customer_id(request)
    try:
        order = checkout_abandon(order_id=order_id, user_id=user_id, actor=f"customer:{user_id}")
    except NotFound:
        raise Http404("No such order.") from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        if order.status == "cancelled":
            messages.success(request, "Removed. Nothing was charged.")
        else:
            messages.success(request, "That checkout was already paid: your server is on its way.")
    return redirect("dashboard")


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
        # An unpaid checkout that can still be paid (else it has expired, or is being closed).
        "hold_open": hold_is_open(order),
        "confirm_cancel": request.GET.get("confirm") == "cancel",
        # Where the power buttons come back to: the order page, also when they were rendered
        # in the polled part (whose own path is the bare fragment).
        "back_url": reverse("order", args=[order.pk]),
        # Every port of a multi-port game (RCON, query...), with the variables that use it.
        "ports": order_port_lines(order=order),
        **server_controls(order),
        **client_area_context(order),
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
    return render(request, "storefront/order.html", _order_context(request, order_id))


@login_required
def order_progress(request: HttpRequest, order_id: int) -> HttpResponse:
    """The parts of the order page that change (the progress, and once the server is ready
    Manage and the client area); live.js polls this and swaps them in, with no reload."""
    response = render(request, "storefront/_order_live.html", _order_context(request, order_id))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def order_cancelled(request: HttpRequest, order_id: int) -> HttpResponse:
    """Stripe's cancel_url ("Cancel and return to the shop"): the checkout is given up at
    once, so its capacity goes back on sale now rather than when the session would expire.
    A GET that changes state, because Stripe sends the customer here with a plain link; it
    only ever ends the signed-in customer's own unpaid checkout, which they can start again."""
    user_id = customer_id(request)
    problem = ""
    order: Order | None
    try:
        order = checkout_abandon(order_id=order_id, user_id=user_id, actor=f"customer:{user_id}")
    except NotFound:
        raise Http404("No such order.") from None
    except ServiceError as exc:
        # Stripe unreachable: the session still expires by itself at the hold's end.
        order = order_for_customer(user_id=user_id, order_id=order_id)
        problem = exc.message
    if order is None:
        raise Http404("No such order.")
    return render(request, "storefront/cancelled.html", {"order": order, "problem": problem})
