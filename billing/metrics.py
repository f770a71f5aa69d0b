"""Billing's parts of /metrics: orders by status, paid -> provisioned durations, stored Stripe
events. Read at scrape time like the rest (core/metrics.py, which shows them in its order:
core may not import billing, so billing registers them in BillingConfig.ready())."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from billing.models import Order, OrderStatus, StripeEvent
from core.metrics import PROVISIONING_BUCKETS, SECTIONS


def orders() -> Iterator[Metric]:
    counts = dict(
        Order.objects.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    g = GaugeMetricFamily("givrwrld_orders", "Orders by current status.", labels=["status"])
    for status in OrderStatus.values:
        g.add_metric([status], counts.get(status, 0))
    yield g
    oldest_paid = Order.objects.filter(status=OrderStatus.PAID).aggregate(t=Min("paid_at"))
    age = GaugeMetricFamily(
        "givrwrld_orders_paid_oldest_age_seconds",
        "Age of the oldest order waiting in 'paid' (0 when none).",
    )
    t = oldest_paid["t"]
    age.add_metric([], (timezone.now() - t).total_seconds() if t else 0.0)
    yield age


def provisioning_duration() -> Iterator[Metric]:
    """Histogram of provisioned_at - paid_at over every order that was provisioned.
    Built from the rows at scrape time, so it is the same whichever process answers, and
    it only grows (orders are never deleted; later lifecycle changes keep both stamps)."""
    done = Order.objects.filter(paid_at__isnull=False, provisioned_at__isnull=False)
    duration = ExpressionWrapper(F("provisioned_at") - F("paid_at"), output_field=DurationField())
    aggregates: dict[str, Any] = {
        f"le_{i}": Count("pk", filter=Q(provisioned_at__lte=F("paid_at") + timedelta(seconds=le)))
        for i, le in enumerate(PROVISIONING_BUCKETS)
    }
    row = done.aggregate(total=Count("pk"), seconds=Sum(duration), **aggregates)
    buckets = [(str(float(le)), row[f"le_{i}"] or 0) for i, le in enumerate(PROVISIONING_BUCKETS)]
    buckets.append(("+Inf", row["total"] or 0))
    total = row["seconds"]
    seconds = total.total_seconds() if isinstance(total, timedelta) else float(total or 0)
    yield HistogramMetricFamily(
        "givrwrld_provisioning_duration_seconds",
        "Time from payment (paid_at) to a panel server (provisioned_at).",
        buckets=buckets,
        sum_value=seconds,
    )


def stripe_events() -> Iterator[Metric]:
    rows = (
        StripeEvent.objects.order_by()
        .values_list("type", "status")
        .annotate(n=Count("pk"))
        .values_list("type", "status", "n")
    )
    g = GaugeMetricFamily(
        "givrwrld_stripe_events",
        "Verified Stripe webhook events stored, by type and outcome (processed, ignored, "
        "failed). Duplicate deliveries are not stored again.",
        labels=["type", "status"],
    )
    for event_type, status, n in sorted(rows):
        g.add_metric([event_type, status], n)
    yield g


def register() -> None:
    SECTIONS.register("orders", orders)
    SECTIONS.register("provisioning_duration", provisioning_duration)
    SECTIONS.register("stripe_events", stripe_events)
