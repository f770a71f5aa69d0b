"""Provisioning's readiness checks (``/readyz``): paid orders are picked up, no order is stuck
in 'provisioning' under a dead worker's lease. Registered in ProvisioningConfig.ready(); the
report and its order are core's (core/health.py). What each means: docs/observability.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from billing.models import Order, OrderStatus
from core.health import READINESS_CHECKS, Check
from core.metrics import task_queue_oldest_age

_NAMED_MAX = 10  # order ids named in a detail; the count says how many more


def _named(ids: list[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:_NAMED_MAX])
    more = len(ids) - _NAMED_MAX
    return f"{shown} and {more} more" if more > 0 else shown


def orders_paid_overdue(*, now: Any = None) -> list[int]:
    """Orders paid longer than READY_PAID_MAX_AGE_MINUTES ago that no worker picked up."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.READY_PAID_MAX_AGE_MINUTES)
    paid = Order.objects.filter(status=OrderStatus.PAID, paid_at__lt=cutoff).order_by("pk")
    return list(paid.values_list("pk", flat=True))


def orders_provisioning_stuck(*, now: Any = None) -> list[int]:
    """Orders in 'provisioning' whose lease ran out more than READY_PROVISIONING_GRACE_SECONDS
    ago: their worker died and nothing resumed them (the reconciler should have, within one
    RECONCILE_INTERVAL_SECONDS)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.READY_PROVISIONING_GRACE_SECONDS)
    stuck = Order.objects.filter(status=OrderStatus.PROVISIONING, lease_until__lt=cutoff)
    return list(stuck.order_by("pk").values_list("pk", flat=True))


def check_backlog() -> Check:
    """Pending work is moving: no runnable task waiting too long, no order stuck in 'paid'."""
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


def register() -> None:
    READINESS_CHECKS.register("backlog", check_backlog)
    READINESS_CHECKS.register("provisioning", check_provisioning)
