from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from billing.models import Order
from billing.ports import order_port_lines
from core.api_auth import django_auth
from core.errors import NotFound
from storefront.live_state import LiveState, live_states
from storefront.selectors import (
    customer_id,
    order_for_customer,
    panel_base_url,
    panel_link,
    servers_for_customer,
)
from storefront.words import status_word

router = Router(tags=["servers"])


class LiveOut(Schema):
    """The server's live state from the panel (storefront/live_state.py); ``unavailable``
    when no client key is set or the panel does not answer."""

    state: str
    label: str
    detail: str
    cpu_percent: float | None
    cpu_limit_percent: int | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    disk_bytes: int | None
    disk_limit_bytes: int | None
    uptime_seconds: int | None


class PortOut(Schema):
    address: str
    # The egg variables that use the port (SERVER_PORT for the primary).
    names: list[str]


class ServerOut(Schema):
    order_id: int
    status: str
    # The word the pages show for `status` (storefront/words.py), e.g. "Ready".
    status_label: str
    server_name: str
    game: str
    plan: str
    region: str
    address: str | None
    panel_url: str | None
    error_message: str | None
    created_at: datetime
    # Renewal: set for subscriptions (None for a one-off payment).
    renews_at: datetime | None = None
    cancel_at_period_end: bool = False
    payment_failed: bool = False
    live: LiveOut | None = None
    # Every port of the server (multi-port games: RCON, query...), once it runs.
    ports: list[PortOut] = []


# The server exists in the panel with its ports.
_PORTS_SHOWN = ("provisioned", "suspended")


def _out(order: Order, panel_base: str, live: LiveState | None = None) -> ServerOut:
    return ServerOut(
        order_id=order.pk,
        status=order.status,
        status_label=status_word(order.status),
        server_name=order.server_name,
        game=order.plan.game.name,
        plan=order.plan.name,
        region=order.region.name,
        address=order.server_address or None,
        panel_url=panel_link(order, panel_base) or None,
        # Only the customer-safe summary; operators see the panel's detail in the admin.
        error_message=(
            "Setting up your server failed; our team has been alerted."
            if order.status == "error"
            else None
        ),
        created_at=order.created_at,
        renews_at=order.current_period_end,
        cancel_at_period_end=order.cancel_at_period_end,
        payment_failed=order.payment_failed_at is not None,
        live=LiveOut(**asdict(live)) if live else None,
        ports=[
            PortOut(address=line.address, names=line.names)
            for line in (order_port_lines(order=order) if order.status in _PORTS_SHOWN else [])
        ],
    )


@router.get("/servers", auth=django_auth, response=list[ServerOut])
def servers(request: HttpRequest) -> list[ServerOut]:
    base = panel_base_url()  # one secrets read for the whole list
    # Servers only: unpaid checkouts are GET /api/checkouts.
    orders = list(servers_for_customer(user_id=customer_id(request)))
    live = live_states(orders=orders)  # cached, fetched in parallel
    return [_out(o, base, live.get(o.pk)) for o in orders]


@router.get("/servers/{order_id}", auth=django_auth, response={200: ServerOut, 404: dict})
def server(request: HttpRequest, order_id: int) -> ServerOut:
    order = order_for_customer(user_id=customer_id(request), order_id=order_id)
    if order is None:  # someone else's order looks exactly like a missing one
        raise NotFound("No such server.")
    return _out(order, panel_base_url(), live_states(orders=[order]).get(order.pk))
