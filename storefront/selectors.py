"""What a customer may see: the catalogue with live stock, and only their own orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from billing.models import Order
from catalog.models import Game, Plan, Region
from catalog.selectors import games_for_sale, plans_for_sale, region_stock
from core import api_auth

# Statuses after which the order page stops polling (a suspended server waits for the
# customer, not for us; its page shows the Manage section).
FINAL_STATUSES = frozenset(
    {"provisioned", "suspended", "error", "cancelled", "terminated", "refunded"}
)


@dataclass(frozen=True)
class RegionOffer:
    region: Region
    stock: int

    @property
    def sold_out(self) -> bool:
        return self.stock <= 0


@dataclass(frozen=True)
class GameOffer:
    game: Game
    plans: list[Plan]

    @property
    def from_plan(self) -> Plan:
        return min(self.plans, key=lambda p: p.price_cents)


# The signed-in customer's id: defined in core (billing's and provisioning's APIs need it too).
customer_id = api_auth.customer_id


def game_offers() -> list[GameOffer]:
    plans = list(plans_for_sale())
    offers = []
    for game in games_for_sale():
        mine = [p for p in plans if p.game_id == game.pk]
        if mine:
            offers.append(GameOffer(game=game, plans=mine))
    return offers


def game_for_sale(*, slug: str) -> Game | None:
    return games_for_sale().filter(slug=slug).first()


def plans_of_game(*, game: Game) -> list[Plan]:
    return list(plans_for_sale().filter(game=game))


def region_offers(*, plan: Plan) -> list[RegionOffer]:
    """Every active region with how many more servers of this plan it can place now."""
    return [
        RegionOffer(region=region, stock=region_stock(region=region, plan=plan))
        for region in Region.objects.filter(active=True)
    ]


def orders_for_customer(*, user_id: int) -> QuerySet[Order]:
    return (
        Order.objects.filter(user_id=user_id)
        .select_related("plan__game", "region")
        .order_by("-created_at")
    )


def servers_for_customer(*, user_id: int) -> QuerySet[Order]:
    """My servers: orders that are (or, once paid, are becoming) a server. Unpaid checkouts
    are not servers: they are listed apart (billing.selectors.pending_checkouts_of_customer),
    and abandoned ones not at all."""
    return orders_for_customer(user_id=user_id).exclude(status__in=("pending", "cancelled"))


def order_for_customer(*, user_id: int, order_id: int) -> Order | None:
    return orders_for_customer(user_id=user_id).filter(pk=order_id).first()


def panel_base_url() -> str:
    from core.secrets import secret_get

    return (secret_get("panel.PANEL_PUBLIC_URL") or secret_get("panel.PANEL_URL") or "").rstrip("/")


def panel_link(order: Order, base: str | None = None) -> str:
    """The customer's link into the panel (`/server/<identifier>`), once the server exists.
    Pass `base` (from `panel_base_url()`) when linking many orders, to read the secret once."""
    if not order.ptero_identifier:
        return ""
    if base is None:
        base = panel_base_url()
    return f"{base}/server/{order.ptero_identifier}" if base else ""


def server_controls(order: Order) -> dict[str, Any]:
    """What the order page's Manage section needs: other plans of the game, the editable
    settings with their last chosen values, and the billing dates."""
    from datetime import timedelta

    from django.conf import settings

    from billing.lifecycle import order_desired_state
    from core import clock

    if order.status not in ("provisioned", "suspended"):
        return {}
    from billing.services import plan_change_quotes

    plan = order.plan
    # Only on a running subscription that renews, each with Stripe's prorated preview.
    plan_quotes = plan_change_quotes(order=order)
    variables = []
    for name in plan.offered_variables():
        spec = plan.egg.variable(name)
        if spec:
            current = order.variables.get(name, spec.get("default_value", ""))
            variables.append({**spec, "current": current})
    grace_end = (
        order.payment_failed_at + timedelta(days=settings.SUSPEND_GRACE_DAYS)
        if order.payment_failed_at
        else None
    )
    return {
        "plan_quotes": plan_quotes,
        "variables": variables,
        "grace_end": grace_end,
        "terminate_at": order_desired_state(order, clock.now()).terminate_at,
    }
