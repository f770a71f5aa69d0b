"""Liveness and readiness checks (``/healthz``, ``/readyz``). Each check answers
``(ok, detail)``; ``readiness_report`` runs them all. What each means: docs/observability.md."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return Check("database", False, f"unreachable: {type(exc).__name__}")
    return Check("database", True, "reachable")


def check_worker() -> Check:
    from core.heartbeats import heartbeat_age

    limit = settings.READY_WORKER_MAX_AGE_SECONDS
    age = heartbeat_age(name="worker")
    if age is None:
        return Check("worker", False, "no worker heartbeat yet")
    seconds = age.total_seconds()
    if seconds > limit:
        return Check("worker", False, f"last heartbeat {seconds:.0f}s ago (limit {limit}s)")
    return Check("worker", True, f"last heartbeat {seconds:.0f}s ago")


class _PanelProbe:
    """One cheap panel call (``GET /locations``), remembered for READY_PANEL_CACHE_SECONDS so
    probes every few seconds cost the rate limit almost nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._result: Check | None = None
        self._at = 0.0

    def __call__(self) -> Check:
        with self._lock:
            now = time.monotonic()
            if self._result is not None and now - self._at < settings.READY_PANEL_CACHE_SECONDS:
                return self._result
            self._result = self._probe()
            self._at = now
            return self._result

    def clear(self) -> None:
        with self._lock:
            self._result = None

    @staticmethod
    def _probe() -> Check:
        from panel.client import PanelClient
        from panel.errors import PanelError

        timeout = settings.READY_PANEL_TIMEOUT_SECONDS
        try:
            with PanelClient.from_settings(timeout=timeout, create_timeout=timeout) as client:
                client.locations_list()
        except PanelError as exc:
            return Check("panel", False, f"{type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # secrets unreadable, ...: still an answer, never a 500
            return Check("panel", False, f"{type(exc).__name__}")
        return Check("panel", True, "reachable")


check_panel = _PanelProbe()


_NAMED_MAX = 10  # order ids named in a detail; the count says how many more


def _named(ids: list[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:_NAMED_MAX])
    more = len(ids) - _NAMED_MAX
    return f"{shown} and {more} more" if more > 0 else shown


def orders_paid_overdue(*, now: Any = None) -> list[int]:
    """Orders paid longer than READY_PAID_MAX_AGE_MINUTES ago that no worker picked up."""
    from billing.models import Order, OrderStatus

    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.READY_PAID_MAX_AGE_MINUTES)
    paid = Order.objects.filter(status=OrderStatus.PAID, paid_at__lt=cutoff).order_by("pk")
    return list(paid.values_list("pk", flat=True))


def orders_provisioning_stuck(*, now: Any = None) -> list[int]:
    """Orders in 'provisioning' whose lease ran out more than READY_PROVISIONING_GRACE_SECONDS
    ago: their worker died and nothing resumed them (the reconciler should have, within one
    RECONCILE_INTERVAL_SECONDS)."""
    from billing.models import Order, OrderStatus

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.READY_PROVISIONING_GRACE_SECONDS)
    stuck = Order.objects.filter(status=OrderStatus.PROVISIONING, lease_until__lt=cutoff)
    return list(stuck.order_by("pk").values_list("pk", flat=True))


def check_backlog() -> Check:
    """Pending work is moving: no runnable task waiting too long, no order stuck in 'paid'."""
    from core.metrics import task_queue_oldest_age

    now = timezone.now()
    problems = []
    task_age = task_queue_oldest_age(now=now)
    if task_age is not None and task_age > settings.READY_TASK_MAX_AGE_SECONDS:
        problems.append(
            f"oldest runnable task waited {task_age:.0f}s "
            f"(limit {settings.READY_TASK_MAX_AGE_SECONDS}s)"
        )
    paid = orders_paid_overdue(now=now)
    if paid:
        problems.append(
            f"{len(paid)} order(s) paid more than {settings.READY_PAID_MAX_AGE_MINUTES} min ago "
            f"and not picked up: {_named(paid)}"
        )
    if problems:
        return Check("backlog", False, "; ".join(problems))
    return Check("backlog", True, "no stuck tasks or paid orders")


def check_provisioning() -> Check:
    """No order is stuck in 'provisioning' under a lease its dead worker can no longer renew."""
    stuck = orders_provisioning_stuck()
    if stuck:
        return Check(
            "provisioning",
            False,
            f"{len(stuck)} order(s) in 'provisioning' with a lease expired more than "
            f"{settings.READY_PROVISIONING_GRACE_SECONDS:.0f}s ago: {_named(stuck)}",
        )
    return Check("provisioning", True, "no order stuck under an expired lease")


def check_duties() -> Check:
    """Every periodic duty ran lately: started within twice its interval, or still running
    under a live lease (core/duties.py)."""
    from core.duties import duties_overdue
    from core.models import DutyLease

    if not DutyLease.objects.exists():
        return Check("duties", False, "no periodic duty has run yet (is a worker running?)")
    overdue = duties_overdue()
    if overdue:
        return Check(
            "duties",
            False,
            "; ".join(
                f"{o.name}: last started {o.describe_age()} (limit {o.limit:.0f}s)" for o in overdue
            ),
        )
    return Check("duties", True, "every duty ran within twice its interval")


READINESS_CHECKS: tuple[Callable[[], Check], ...] = (
    check_database,
    check_worker,
    check_panel,
    check_backlog,
    check_provisioning,
    check_duties,
)


def readiness_report() -> tuple[bool, list[Check]]:
    results = []
    for check in READINESS_CHECKS:
        try:
            result = check()
        except Exception as exc:  # a check that crashes is a failed check, not a 500
            name = getattr(check, "__name__", type(check).__name__).removeprefix("check_")
            logger.exception("readiness check %s crashed", name)
            result = Check(name, False, f"check crashed: {type(exc).__name__}")
        results.append(result)
        if result.name == "database" and not result.ok:
            break  # every other check reads the database
    return all(r.ok for r in results), results


def client_ip_allowed(ip: str | None, networks: list[str]) -> bool:
    """Whether ``ip`` is inside one of ``networks`` (CIDRs or single addresses)."""
    if not ip or not networks:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for net in networks:
        try:
            if addr in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False
