"""Every figure on the console's dashboard, read here and nowhere else (docs/console.md).

Plain reads with `now` as an argument, so tests give exact figures on a fixture of orders.
Windows are half-open, [start, now): "today" starts at 00:00 UTC.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing.models import Order, OrderEvent, OrderStatus
from catalog.models import Allocation, Node, Region
from catalog.selectors import node_committed
from core.duties import duty_overdue
from core.models import Alert, DutyLease, Heartbeat

# Statuses that mean a server exists (or existed until a suspension) for the customer.
SERVING = (OrderStatus.PROVISIONED, OrderStatus.SUSPENDED)
# Subscription states Stripe still bills (Stripe API: subscription.status).
BILLED_SUBSCRIPTION = ("active", "trialing", "past_due")


@dataclass(frozen=True)
class Window:
    label: str
    orders: int
    """Orders paid in the window (paid_at inside it)."""
    revenue_cents: dict[str, int]
    """Gross amount of those orders, per currency (refunds are not subtracted)."""


def _start_of_day(now: datetime) -> datetime:
    utc = now.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def _window(label: str, start: datetime, now: datetime) -> Window:
    paid = Order.objects.filter(paid_at__gte=start, paid_at__lt=now)
    revenue: dict[str, int] = {}
    for row in paid.values("currency").annotate(total=Sum("amount_cents")).order_by("currency"):
        revenue[row["currency"]] = int(row["total"] or 0)
    return Window(label=label, orders=paid.count(), revenue_cents=revenue)


def sales_windows(*, now: datetime) -> list[Window]:
    """Orders and revenue today, in the last 7 days and in the last 30 days."""
    return [
        _window("today", _start_of_day(now), now),
        _window("7 days", now - timedelta(days=7), now),
        _window("30 days", now - timedelta(days=30), now),
    ]


def sales_by_day(*, now: datetime, days: int = 30) -> list[dict[str, Any]]:
    """One row per UTC day (oldest first, today last): orders paid and revenue in cents,
    all currencies added (the chart's series)."""
    first = _start_of_day(now) - timedelta(days=days - 1)
    rows: dict[str, dict[str, Any]] = {}
    for i in range(days):
        day = (first + timedelta(days=i)).date().isoformat()
        rows[day] = {"day": day, "orders": 0, "revenue_cents": 0}
    for paid_at, amount in Order.objects.filter(paid_at__gte=first, paid_at__lt=now).values_list(
        "paid_at", "amount_cents"
    ):
        assert paid_at is not None  # filtered on paid_at above
        day = paid_at.astimezone(UTC).date().isoformat()
        rows[day]["orders"] += 1
        rows[day]["revenue_cents"] += amount
    return list(rows.values())


@dataclass(frozen=True)
class Recurring:
    mrr_cents: dict[str, int]
    """Monthly recurring revenue per currency: every subscription Stripe still bills, a yearly
    plan counted as a twelfth of its amount (rounded down per order)."""
    subscriptions: int
    churned_30d: int
    """Subscriptions that ended in the last 30 days."""
    churn_rate_30d: float | None
    """churned / subscriptions live 30 days ago; None when there were none."""


def recurring_revenue(*, now: datetime) -> Recurring:
    subs = Order.objects.exclude(stripe_subscription_id=None).select_related("plan")
    billed = subs.filter(subscription_status__in=BILLED_SUBSCRIPTION, status__in=SERVING)
    mrr: dict[str, int] = defaultdict(int)
    for order in billed:
        per_month = (
            order.amount_cents // 12
            if order.plan.recurring_interval == "year"
            else (order.amount_cents)
        )
        mrr[order.currency] += per_month
    start = now - timedelta(days=30)
    live_at_start = subs.filter(paid_at__lt=start).filter(
        Q(subscription_ended_at=None) | Q(subscription_ended_at__gte=start)
    )
    churned = subs.filter(subscription_ended_at__gte=start, subscription_ended_at__lt=now)
    base = live_at_start.count()
    n_churned = churned.count()
    return Recurring(
        mrr_cents=dict(sorted(mrr.items())),
        subscriptions=billed.count(),
        churned_30d=n_churned,
        churn_rate_30d=(n_churned / base) if base else None,
    )


def servers_by_state() -> dict[str, int]:
    """Orders per status, every status listed (0 when none), in the statuses' order."""
    counts = dict(
        Order.objects.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in OrderStatus.values}


def _percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least q% of the values at or
    below it (no interpolation, so the figure is always a time an order really took)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Provisioning:
    p50_seconds: float | None
    p95_seconds: float | None
    provisioned_30d: int
    """Orders provisioned in the last 30 days (payment to panel server)."""
    paid_30d: int
    failed_30d: int
    """Of the orders paid in the last 30 days, those that reached 'error' at least once."""
    failure_rate_30d: float | None


def provisioning_stats(*, now: datetime) -> Provisioning:
    start = now - timedelta(days=30)
    done = Order.objects.filter(
        provisioned_at__gte=start, provisioned_at__lt=now, paid_at__isnull=False
    ).values_list("paid_at", "provisioned_at")
    took = sorted((p - paid).total_seconds() for paid, p in done if p and paid)
    paid_ids = Order.objects.filter(paid_at__gte=start, paid_at__lt=now).values("pk")
    failed = (
        OrderEvent.objects.filter(order_id__in=paid_ids, to_status=OrderStatus.ERROR)
        .values("order_id")
        .distinct()
        .count()
    )
    paid = Order.objects.filter(paid_at__gte=start, paid_at__lt=now).count()
    return Provisioning(
        p50_seconds=_percentile(took, 50),
        p95_seconds=_percentile(took, 95),
        provisioned_30d=len(took),
        paid_30d=paid,
        failed_30d=failed,
        failure_rate_30d=(failed / paid) if paid else None,
    )


@dataclass(frozen=True)
class Alerts:
    open: int
    """Not resolved."""
    unacknowledged: int
    """Open and nobody has acknowledged them."""


def alert_counts() -> Alerts:
    open_alerts = Alert.objects.filter(resolved_at=None)
    return Alerts(
        open=open_alerts.count(), unacknowledged=open_alerts.filter(acknowledged_at=None).count()
    )


@dataclass(frozen=True)
class Duty:
    name: str
    age_seconds: float | None
    """Since the duty last started; None if it never did."""
    overdue: bool
    last_error: str


@dataclass(frozen=True)
class Worker:
    heartbeat_age_seconds: float | None
    queue_ready: int
    """Tasks waiting to run (READY), delayed retries included."""
    queue_oldest_age_seconds: float | None
    duties: list[Duty] = field(default_factory=list)


def worker_health(*, now: datetime) -> Worker:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from core.metrics import task_queue_oldest_age

    beat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
    duties = [
        Duty(
            name=row.name,
            age_seconds=(now - row.last_started_at).total_seconds()
            if row.last_started_at
            else None,
            overdue=duty_overdue(row, now) is not None,
            last_error=row.last_error,
        )
        for row in DutyLease.objects.order_by("name")
    ]
    return Worker(
        heartbeat_age_seconds=(now - beat).total_seconds() if beat else None,
        queue_ready=DBTaskResult.objects.filter(status=TaskResultStatus.READY).count(),
        queue_oldest_age_seconds=task_queue_oldest_age(now=now),
        duties=duties,
    )


@dataclass(frozen=True)
class Fill:
    name: str
    memory_used: int
    """MiB committed (panel's sum at the last sync plus our orders not in it yet)."""
    memory_total: float
    """MiB the panel lets us place: size x (1 + overallocate/100)."""
    disk_used: int
    disk_total: float
    ports_used: int
    """Ports assigned in the panel or held by one of our orders."""
    ports_total: int

    @staticmethod
    def pct(used: float, total: float) -> float | None:
        return round(100 * used / total, 1) if total else None

    @property
    def memory_pct(self) -> float | None:
        return self.pct(self.memory_used, self.memory_total)

    @property
    def disk_pct(self) -> float | None:
        return self.pct(self.disk_used, self.disk_total)

    @property
    def ports_pct(self) -> float | None:
        return self.pct(self.ports_used, self.ports_total)


def _node_fill(node: Node) -> Fill:
    memory, disk = node_committed(node=node)
    ports = Allocation.objects.filter(node=node)
    used = ports.filter(Q(assigned=True) | Q(order__isnull=False)).count()
    return Fill(
        name=node.name,
        memory_used=memory,
        memory_total=node.memory_ceiling,
        disk_used=disk,
        disk_total=node.disk_ceiling,
        ports_used=used,
        ports_total=ports.count(),
    )


def node_fill() -> list[Fill]:
    """Every node, by panel id."""
    return [_node_fill(node) for node in Node.objects.order_by("ptero_node_id")]


def region_fill() -> list[Fill]:
    """Every region: the sums of its nodes' fills (nodes in maintenance included: their
    servers still use the room)."""
    by_node = {f.name: f for f in node_fill()}
    out: list[Fill] = []
    for region in Region.objects.prefetch_related("nodes").order_by("sort_order", "name"):
        fills = [by_node[n.name] for n in region.nodes.all() if n.name in by_node]
        out.append(
            Fill(
                name=region.name,
                memory_used=sum(f.memory_used for f in fills),
                memory_total=sum(f.memory_total for f in fills),
                disk_used=sum(f.disk_used for f in fills),
                disk_total=sum(f.disk_total for f in fills),
                ports_used=sum(f.ports_used for f in fills),
                ports_total=sum(f.ports_total for f in fills),
            )
        )
    return out


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    sales: list[Window]
    by_day: list[dict[str, Any]]
    recurring: Recurring
    states: dict[str, int]
    provisioning: Provisioning
    alerts: Alerts
    worker: Worker
    nodes: list[Fill]
    regions: list[Fill]


def dashboard_figures(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    return Dashboard(
        now=now,
        sales=sales_windows(now=now),
        by_day=sales_by_day(now=now),
        recurring=recurring_revenue(now=now),
        states=servers_by_state(),
        provisioning=provisioning_stats(now=now),
        alerts=alert_counts(),
        worker=worker_health(now=now),
        nodes=node_fill(),
        regions=region_fill(),
    )
