"""Live state of the customer's servers (selectors): running / starting / stopping / offline,
installing / install failed, suspended, with CPU, memory and disk use against the plan.

Read from the panel's Client API with the operator's client key (``panel.PANEL_CLIENT_KEY``):
``GET /api/client/servers/{identifier}/resources`` (pterodactyl/panel v1.11.8
ResourceUtilizationController.php). While a server installs, is suspended or restores, the
panel answers 409 (app/Http/Middleware/Api/Client/Server/AuthenticateServerAccess.php,
ServerStateConflictException); the server view (``GET /api/client/servers/{identifier}``,
always allowed) then says which.

Cost: each answer is kept ``LIVE_STATE_CACHE_SECONDS`` in the shared cache (one entry per
server, shared by every web process), and misses are fetched in parallel by at most
``LIVE_STATE_WORKERS`` threads, so a dashboard of 20 servers polled every few seconds costs
about 20 calls per cache period whatever the number of tabs, well inside the client API's
720/min (RouteServiceProvider v1.11.8, ``api.client``). Without a client key nothing is
called and every row says the state is unavailable."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from billing.models import Order
from core.secrets import secret_get
from panel.client import PanelClient
from panel.errors import PanelConflictError, PanelError
from provisioning.client_area import live_cache_key, power_hint_key

logger = logging.getLogger(__name__)

LIVE_STATUSES = frozenset({"provisioned", "suspended"})

LABELS = {
    "running": "Running",
    "starting": "Starting",
    "stopping": "Stopping",
    "offline": "Offline",
    "installing": "Installing",
    "install_failed": "Install failed",
    "suspended": "Suspended",
    "restoring_backup": "Restoring a backup",
    "unavailable": "State unavailable",
}


@dataclass(frozen=True)
class LiveState:
    order_id: int
    state: str
    label: str
    detail: str = ""
    cpu_percent: float | None = None
    cpu_limit_percent: int | None = None  # None: unlimited
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    disk_bytes: int | None = None
    disk_limit_bytes: int | None = None
    uptime_seconds: int | None = None

    @property
    def can_start(self) -> bool:
        return self.state in ("offline", "unavailable")

    @property
    def can_stop(self) -> bool:
        return self.state in ("running", "starting", "unavailable")

    @property
    def powerable(self) -> bool:
        return self.state in ("running", "starting", "stopping", "offline", "unavailable")

    @property
    def usage_text(self) -> str:
        """``CPU 12.5% of 200% · Memory 683 MiB of 2048 MiB · Disk 150 MiB of 10240 MiB``."""
        if self.memory_bytes is None:
            return ""
        parts = []
        if self.cpu_percent is not None:
            limit = f"{self.cpu_limit_percent}%" if self.cpu_limit_percent else "unlimited"
            parts.append(f"CPU {self.cpu_percent:g}% of {limit}")
        for name, used, limit_bytes in (
            ("Memory", self.memory_bytes, self.memory_limit_bytes),
            ("Disk", self.disk_bytes, self.disk_limit_bytes),
        ):
            if used is not None:
                of = f"{limit_bytes // 1048576} MiB" if limit_bytes else "unlimited"
                parts.append(f"{name} {round(used / 1048576)} MiB of {of}")
        return " · ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "usage_text": self.usage_text,
            "can_start": self.can_start,
            "can_stop": self.can_stop,
            "powerable": self.powerable,
        }


def _unavailable(order: Order, detail: str) -> LiveState:
    return LiveState(
        order_id=order.pk, state="unavailable", label=LABELS["unavailable"], detail=detail
    )


def _mib(value: int) -> int | None:
    return value * 1024 * 1024 if value else None


def _fetch(client: PanelClient, identifier: str) -> dict[str, Any]:
    """One server's raw state, as cached (no order-specific fields)."""
    try:
        stats = client.client_server_resources(identifier=identifier)
    except PanelConflictError:
        view = client.client_server_view(identifier=identifier)
        state = view.status if view.status in LABELS else "unavailable"
        if view.is_suspended:
            state = "suspended"
        return {"state": state}
    return {
        "state": stats.current_state if stats.current_state in LABELS else "offline",
        "cpu": round(stats.cpu_absolute, 1),
        "memory": stats.memory_bytes,
        "disk": stats.disk_bytes,
        "uptime": stats.uptime_ms // 1000,
    }


def _with_hint(raw_state: str, hint: dict[str, Any] | None) -> str:
    """The panel may still report the state before a signal we just sent (its 20 s cache):
    show the transition the signal started until the panel catches up."""
    if not hint:
        return raw_state
    if hint["signal"] in ("stop", "kill") and raw_state in ("running", "starting"):
        return "stopping"
    if hint["signal"] in ("start", "restart") and raw_state in ("offline", "stopping"):
        return "starting"
    return raw_state


def _state(order: Order, raw: dict[str, Any], hint: dict[str, Any] | None) -> LiveState:
    plan = order.plan
    state = _with_hint(raw["state"], hint)
    if order.status == "suspended" and state not in ("installing", "install_failed"):
        state = "suspended"
    return LiveState(
        order_id=order.pk,
        state=state,
        label=LABELS[state],
        cpu_percent=raw.get("cpu"),
        cpu_limit_percent=plan.cpu or None,
        memory_bytes=raw.get("memory"),
        memory_limit_bytes=_mib(plan.memory),
        disk_bytes=raw.get("disk"),
        disk_limit_bytes=_mib(plan.disk),
        uptime_seconds=raw.get("uptime"),
    )


def live_states(*, orders: Iterable[Order]) -> dict[int, LiveState]:
    """The live state of each order that is a server now (provisioned or suspended)."""
    wanted = [o for o in orders if o.status in LIVE_STATUSES and o.ptero_identifier]
    if not wanted:
        return {}
    if not secret_get("panel.PANEL_CLIENT_KEY"):
        return {o.pk: _unavailable(o, "Live state is not set up on this site.") for o in wanted}
    identifiers = sorted({o.ptero_identifier for o in wanted})
    keys = {i: live_cache_key(i) for i in identifiers}
    cached = cache.get_many(list(keys.values()))
    raw: dict[str, dict[str, Any] | None] = {i: cached.get(keys[i]) for i in identifiers}
    missing = [i for i, value in raw.items() if value is None]
    if missing:
        raw.update(_fetch_many(missing))
        fresh = {keys[i]: raw[i] for i in missing if raw[i] is not None}
        if fresh:
            cache.set_many(fresh, timeout=settings.LIVE_STATE_CACHE_SECONDS)
    hints = cache.get_many([power_hint_key(i) for i in identifiers])
    out = {}
    for order in wanted:
        value = raw.get(order.ptero_identifier)
        if value is None:
            out[order.pk] = _unavailable(order, "The game panel is not answering right now.")
        else:
            hint = hints.get(power_hint_key(order.ptero_identifier))
            out[order.pk] = _state(order, value, hint)
    return out


def _fetch_many(identifiers: list[str]) -> dict[str, dict[str, Any] | None]:
    try:
        # A short read timeout: a page waits for the slowest of its (parallel) calls.
        client = PanelClient.from_settings(timeout=settings.LIVE_STATE_TIMEOUT_SECONDS)
    except PanelError:  # panel not configured at all: the pages still work
        logger.warning("live state: panel client not configured")
        return {i: None for i in identifiers}

    def one(identifier: str) -> dict[str, Any] | None:
        try:
            return _fetch(client, identifier)
        except PanelError as exc:
            logger.info("live state of %s unavailable: %s", identifier, exc)
            return None

    try:
        workers = max(1, min(settings.LIVE_STATE_WORKERS, len(identifiers)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="live-state") as pool:
            return dict(zip(identifiers, pool.map(one, identifiers), strict=True))
    finally:
        client.close()
