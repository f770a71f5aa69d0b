"""Provisioning's parts of /metrics: orders stuck on the way to a server (the facts /readyz's
`backlog` and `provisioning` checks read) and provisioning tries by outcome. Registered in
ProvisioningConfig.ready(); core/metrics.py shows them in its order."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from core.metrics import SECTIONS
from provisioning.health import orders_paid_overdue, orders_provisioning_stuck
from provisioning.models import AttemptOutcome, ProvisioningAttempt


def stuck() -> Iterator[Metric]:
    """The order facts /readyz's `provisioning` and `backlog` checks read."""
    stuck = GaugeMetricFamily(
        "givrwrld_orders_provisioning_stuck",
        "Orders in 'provisioning' whose lease expired more than "
        "READY_PROVISIONING_GRACE_SECONDS ago (their worker died, nothing resumed them).",
    )
    stuck.add_metric([], len(orders_provisioning_stuck()))
    yield stuck
    paid = GaugeMetricFamily(
        "givrwrld_orders_paid_overdue",
        "Orders paid more than READY_PAID_MAX_AGE_MINUTES ago and not picked up.",
    )
    paid.add_metric([], len(orders_paid_overdue()))
    yield paid


def attempts() -> Iterator[Metric]:
    counts = dict(
        ProvisioningAttempt.objects.order_by()
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    c = CounterMetricFamily(
        "givrwrld_provisioning_attempts",
        "Provisioning tries by outcome (interrupted: its worker died mid-try; not counted "
        "toward PROVISION_MAX_ATTEMPTS).",
        labels=["outcome"],
    )
    for outcome in AttemptOutcome.values:
        c.add_metric([outcome], counts.get(outcome, 0))
    yield c


def register() -> None:
    SECTIONS.register("stuck", stuck)
    SECTIONS.register("attempts", attempts)
