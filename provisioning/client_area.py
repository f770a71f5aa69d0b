"""The customer's own controls of a provisioned server through the panel: power signals and
the panel password. Writes (services); the live state they are shown beside is read in
``storefront.live_state``.

Power goes through the panel's Client API (pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Client/Servers/PowerController.php) with the operator's client key
(``panel.PANEL_CLIENT_KEY``, a key of a root admin, who may act on every server); so the
ownership check is ours and happens first: someone else's order is the same 404 as a missing
one. Each accepted signal is one row in the order's audit trail (``order_events``)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts.models import User
from billing.models import Order, OrderStatus
from billing.transitions import order_lock, order_note
from core.errors import Conflict, NotFound, ServiceError
from panel.client import POWER_SIGNALS, PanelClient
from panel.errors import PanelConflictError, PanelError

logger = logging.getLogger(__name__)

# How long a sent signal colours the shown state: the panel caches resources for 20 s
# (ResourceUtilizationController v1.11.8) and does not forget that cache on a power signal,
# so for a while it still reports the state before the signal.
POWER_HINT_SECONDS = 45

SUSPENDED_MESSAGE = (
    "This server is suspended, so it cannot be started or stopped. "
    "Settle the open payment (Invoices and payment method) to bring it back."
)


def power_hint_key(identifier: str) -> str:
    return f"client-area:power-hint:{identifier}"


def live_cache_key(identifier: str) -> str:
    return f"client-area:live:{identifier}"


def _rate_limit(*, user_id: int) -> None:
    """A fixed one-minute window per customer in the shared cache (every web process counts
    in the same place). The panel has its own limit for the client key (720/min shared by all
    customers, RouteServiceProvider v1.11.8 ``api.client``); this keeps one customer's
    clicking from eating it."""
    limit = settings.POWER_ACTIONS_PER_MINUTE
    window = int(time.time() // 60)
    key = f"client-area:power-rate:{user_id}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=120)
        used = 1
    if used > limit:
        raise ServiceError(
            f"Too many power actions: at most {limit} a minute. Wait a moment and try again.",
            code="rate_limited",
            status=429,
        )


def order_power_send(*, order_id: int, user_id: int, signal: str) -> Order:
    """Send ``signal`` (start, stop, restart, kill) to the customer's server."""
    if signal not in POWER_SIGNALS:
        raise ServiceError(
            "Unknown power action; use start, stop, restart or kill.",
            code="invalid_signal",
            status=422,
        )
    order = Order.objects.filter(pk=order_id, user_id=user_id).first()
    if order is None:
        raise NotFound("No such server.")
    if order.status == OrderStatus.SUSPENDED:
        raise Conflict(SUSPENDED_MESSAGE, code="suspended")
    if order.status != OrderStatus.PROVISIONED or not order.ptero_identifier:
        raise Conflict("This server is not ready yet.", code="not_ready")
    _rate_limit(user_id=user_id)
    actor = f"customer:{user_id}"
    try:
        with PanelClient.from_settings() as client:
            client.client_power(identifier=order.ptero_identifier, signal=signal)
    except PanelConflictError as exc:
        # ServerStateConflictException: installing, suspended on the panel, node maintenance.
        _note(order_id=order.pk, actor=actor, reason=f"power {signal} refused by the panel")
        raise Conflict(exc.message, code="panel_conflict") from None
    except PanelError:
        _note(order_id=order.pk, actor=actor, reason=f"power {signal} failed (panel error)")
        raise
    _note(order_id=order.pk, actor=actor, reason=f"power {signal}")
    cache.set(
        power_hint_key(order.ptero_identifier),
        {"signal": signal, "at": time.time()},
        timeout=POWER_HINT_SECONDS,
    )
    cache.delete(live_cache_key(order.ptero_identifier))
    return order


def _note(*, order_id: int, actor: str, reason: str) -> None:
    with transaction.atomic():
        order_note(order=order_lock(order_id=order_id), actor=actor, reason=reason)


PANEL_PASSWORD_MIN = 8
# bcrypt (the panel's hasher) reads the first 72 bytes only; a longer password would be
# silently cut, so we refuse it instead.
PANEL_PASSWORD_MAX_BYTES = 72


def customer_panel_password_set(*, user_id: int, password: str, confirm: str) -> None:
    """Set the customer's password on the panel (PATCH /api/application/users/{id}, see
    ``PanelClient.user_set_password``). The password is passed through, never stored, logged
    or put in an exception message here."""
    user = User.objects.get(pk=user_id)
    if not user.pterodactyl_user_id:
        raise Conflict(
            "Your panel account is created with your first server; set its password then.",
            code="no_panel_account",
        )
    if password != confirm:
        raise ServiceError("The two passwords differ.", code="password_mismatch")
    if len(password) < PANEL_PASSWORD_MIN:
        raise ServiceError(
            f"Use at least {PANEL_PASSWORD_MIN} characters.", code="password_too_short"
        )
    if len(password.encode()) > PANEL_PASSWORD_MAX_BYTES:
        raise ServiceError(
            f"Use at most {PANEL_PASSWORD_MAX_BYTES} bytes (the panel ignores the rest).",
            code="password_too_long",
        )
    with PanelClient.from_settings() as client:
        client.user_set_password(user_id=int(user.pterodactyl_user_id), password=password)
    logger.info("panel password set for customer %s", user_id)
