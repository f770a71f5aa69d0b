"""Liveness and readiness checks (``/healthz``, ``/readyz``). Each check answers
``(ok, detail)``; ``readiness_report`` runs them all. What each means: docs/observability.md."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from core.registry import Registry

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


# The readiness checks, in the order /readyz lists them. core's own are registered below; the
# others by the app whose state they read, in its AppConfig.ready() (panel/health.py,
# provisioning/health.py): core may not import them (docs/architecture.md).
READINESS_CHECKS: Registry[Callable[[], Check]] = Registry(
    order=("database", "worker", "panel", "backlog", "provisioning", "duties")
)
READINESS_CHECKS.register("database", check_database)
READINESS_CHECKS.register("worker", check_worker)
READINESS_CHECKS.register("duties", check_duties)


def readiness_report() -> tuple[bool, list[Check]]:
    results = []
    for name, check in READINESS_CHECKS.items():
        try:
            result = check()
        except Exception as exc:  # a check that crashes is a failed check, not a 500
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
