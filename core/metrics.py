"""Prometheus metrics, correct across processes and machines.

Web processes (gunicorn) and workers run apart, often on different machines, and workers serve
no HTTP. So nothing here lives in process memory:

* Figures the database already holds are computed **at scrape time** by ``DatabaseCollector``:
  orders by status, the paid → provisioned duration histogram (from ``paid_at`` /
  ``provisioned_at``), stored Stripe events by type and status, the task queue (django-tasks-db's
  READY rows), alerts, the worker heartbeat.
* Figures only a process sees (panel calls, the panel's rate-limit headers) are added to a
  small table (``metric_values``) by the panel client's ``on_call`` hook, one UPDATE per call
  (the panel allows ~4 calls/s, so this is no load), and read back at scrape time.

Every web process therefore answers ``/metrics`` with the same cluster-wide figures: scrape one
of them (or all, and aggregate with ``max``, never ``sum``). See docs/observability.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from core.models import MetricValue
from core.registry import Registry

logger = logging.getLogger(__name__)

# Paid → provisioned, seconds. One panel call takes ~0.1-2 s; a create waits on Wings (≤ 60 s);
# retries back off up to minutes.
PROVISIONING_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

PANEL_CALLS = "panel_calls"
PANEL_CALL_SECONDS = "panel_call_seconds"
PANEL_RATE_LIMIT_LIMIT = "panel_rate_limit_limit"
PANEL_RATE_LIMIT_REMAINING = "panel_rate_limit_remaining"
PANEL_RATE_LIMIT_OBSERVED = "panel_rate_limit_observed_at"


def _labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


# --- writing (any process) ------------------------------------------------------------------


def metric_increment(*, name: str, labels: dict[str, str] | None = None, by: float = 1) -> None:
    """Add to a shared counter. Atomic in the database (UPDATE value = value + by); the first
    writer creates the row and a concurrent first writer falls back to the UPDATE."""
    key = _labels_key(labels or {})
    # A savepoint: called inside someone's transaction, a failed INSERT must not poison it.
    with transaction.atomic():
        if MetricValue.objects.filter(name=name, labels=key).update(value=F("value") + by):
            return
        try:
            with transaction.atomic():
                MetricValue.objects.create(name=name, labels=key, value=by)
                return
        except IntegrityError:
            pass
        MetricValue.objects.filter(name=name, labels=key).update(value=F("value") + by)


def metric_set(*, name: str, labels: dict[str, str] | None = None, value: float) -> None:
    """Set a shared gauge (last writer wins)."""
    key = _labels_key(labels or {})
    with transaction.atomic():
        if MetricValue.objects.filter(name=name, labels=key).update(value=value):
            return
        try:
            with transaction.atomic():
                MetricValue.objects.create(name=name, labels=key, value=value)
        except IntegrityError:
            MetricValue.objects.filter(name=name, labels=key).update(value=value)


class RateLimitSeen(Protocol):
    """The panel's last rate-limit headers (panel.types.RateLimitState)."""

    @property
    def limit(self) -> int | None: ...
    @property
    def remaining(self) -> int | None: ...
    @property
    def observed_at(self) -> float: ...


class RateLimitReporter(Protocol):
    """What the recorder reads of the panel client (panel.client.PanelClient); a protocol, so
    core needs no import of the panel app above it."""

    @property
    def rate_limit(self) -> RateLimitSeen | None: ...


def panel_call_recorder(client: RateLimitReporter) -> Callable[[str, str, float], None]:
    """The default ``on_call`` hook ``PanelClient.from_settings`` installs: counts the call by
    endpoint template and outcome, adds its duration, and records the rate-limit headers."""

    def record(endpoint: str, outcome: str, seconds: float) -> None:
        labels = {"endpoint": endpoint, "outcome": outcome}
        metric_increment(name=PANEL_CALLS, labels=labels)
        metric_increment(name=PANEL_CALL_SECONDS, labels=labels, by=seconds)
        state = client.rate_limit
        if state is not None and state.remaining is not None:
            metric_set(name=PANEL_RATE_LIMIT_REMAINING, value=state.remaining)
            metric_set(name=PANEL_RATE_LIMIT_OBSERVED, value=state.observed_at)
            if state.limit is not None:
                metric_set(name=PANEL_RATE_LIMIT_LIMIT, value=state.limit)

    return record


# --- reading (at scrape time) ---------------------------------------------------------------


def _shared(name: str) -> list[tuple[dict[str, str], float]]:
    rows = MetricValue.objects.filter(name=name).values_list("labels", "value").order_by("labels")
    return [(json.loads(labels or "{}"), value) for labels, value in rows]


def _shared_value(name: str) -> float | None:
    values = _shared(name)
    return values[0][1] if values else None


MetricSection = Callable[[], Iterable[Metric]]

# The parts of /metrics, in the order they are shown. core's own are registered below; the
# others by the app that owns the data, in its AppConfig.ready() (billing/metrics.py,
# provisioning/metrics.py): core may not import them (docs/architecture.md).
SECTIONS: Registry[MetricSection] = Registry(
    order=(
        "orders",
        "provisioning_duration",
        "panel",
        "stripe_events",
        "tasks",
        "alerts",
        "heartbeats",
        "duties",
        "stuck",
        "attempts",
    )
)


class DatabaseCollector(Collector):
    """Everything /metrics shows, read from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        for section in SECTIONS:
            yield from section()

    @staticmethod
    def _panel() -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "givrwrld_panel_calls",
            "Panel API calls by endpoint template and outcome (ok, not_found, validation, "
            "rate_limited, server_error, timeout, connection, ...).",
            labels=["endpoint", "outcome"],
        )
        for labels, value in _shared(PANEL_CALLS):
            calls.add_metric([labels.get("endpoint", ""), labels.get("outcome", "")], value)
        yield calls
        seconds = CounterMetricFamily(
            "givrwrld_panel_call_seconds",
            "Time spent in panel API calls, by endpoint template and outcome.",
            labels=["endpoint", "outcome"],
        )
        for labels, value in _shared(PANEL_CALL_SECONDS):
            seconds.add_metric([labels.get("endpoint", ""), labels.get("outcome", "")], value)
        yield seconds
        for name, metric, doc in (
            (
                PANEL_RATE_LIMIT_REMAINING,
                "givrwrld_panel_rate_limit_remaining",
                "X-RateLimit-Remaining on the last panel response (any process).",
            ),
            (
                PANEL_RATE_LIMIT_LIMIT,
                "givrwrld_panel_rate_limit_limit",
                "X-RateLimit-Limit on the last panel response.",
            ),
            (
                PANEL_RATE_LIMIT_OBSERVED,
                "givrwrld_panel_rate_limit_observed_timestamp_seconds",
                "When those headers were read (unix time).",
            ),
        ):
            shared = _shared_value(name)
            if shared is not None:
                g = GaugeMetricFamily(metric, doc)
                g.add_metric([], shared)
                yield g

    @staticmethod
    def _tasks() -> Iterator[Metric]:
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult, get_date_max

        now = timezone.now()
        ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
        runnable = ready.filter(Q(run_after=get_date_max()) | Q(run_after__lte=now))
        depth = GaugeMetricFamily(
            "givrwrld_task_queue_depth",
            "Tasks waiting (READY): runnable now, or delayed (a retry's backoff).",
            labels=["state"],
        )
        n_runnable = runnable.count()
        depth.add_metric(["runnable"], n_runnable)
        depth.add_metric(["delayed"], ready.count() - n_runnable)
        yield depth
        age = GaugeMetricFamily(
            "givrwrld_task_queue_oldest_age_seconds",
            "How long the oldest runnable task has been waiting (0 when none).",
        )
        age.add_metric([], task_queue_oldest_age(now=now) or 0.0)
        yield age
        running = GaugeMetricFamily("givrwrld_tasks_running", "Tasks a worker is running.")
        running.add_metric([], DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count())
        yield running

    @staticmethod
    def _alerts() -> Iterator[Metric]:
        from core.models import Alert

        counts = dict(
            Alert.objects.order_by()
            .values_list("delivered")
            .annotate(n=Count("pk"))
            .values_list("delivered", "n")
        )
        c = CounterMetricFamily(
            "givrwrld_alerts",
            "Operator alerts raised (stored in `alerts`), by whether an ALERT_URLS target "
            "accepted them.",
            labels=["delivered"],
        )
        c.add_metric(["true"], counts.get(True, 0))
        c.add_metric(["false"], counts.get(False, 0))
        yield c

    @staticmethod
    def _heartbeats() -> Iterator[Metric]:
        from core.models import Heartbeat

        g = GaugeMetricFamily(
            "givrwrld_heartbeat_age_seconds",
            "Seconds since each background loop last beat (the worker's tick).",
            labels=["name"],
        )
        now = timezone.now()
        for name, beat_at in Heartbeat.objects.values_list("name", "beat_at").order_by("name"):
            g.add_metric([name], (now - beat_at).total_seconds())
        yield g

    @staticmethod
    def _duties() -> Iterator[Metric]:
        """The duty leases (core/duties.py): the facts /readyz's `duties` check reads."""
        from core.duties import duty_overdue
        from core.models import DutyLease

        now = timezone.now()
        rows = list(DutyLease.objects.order_by("name"))
        started = GaugeMetricFamily(
            "givrwrld_duty_last_started_age_seconds",
            "Seconds since each periodic duty last started (-1 if never).",
            labels=["duty"],
        )
        finished = GaugeMetricFamily(
            "givrwrld_duty_last_finished_age_seconds",
            "Seconds since each periodic duty last finished (-1 if never).",
            labels=["duty"],
        )
        interval = GaugeMetricFamily(
            "givrwrld_duty_interval_seconds",
            "Each duty's interval, as its last runner was configured.",
            labels=["duty"],
        )
        held = GaugeMetricFamily(
            "givrwrld_duty_lease_held",
            "1 while a worker holds the duty's lease (it is running), else 0.",
            labels=["duty"],
        )
        overdue = GaugeMetricFamily(
            "givrwrld_duty_overdue",
            "1 when the duty has not started for twice its interval and no live lease says "
            "it is running (/readyz fails), else 0.",
            labels=["duty"],
        )
        failed = GaugeMetricFamily(
            "givrwrld_duty_last_run_failed",
            "1 when the duty's last run ended in an error (see duty_leases.last_error).",
            labels=["duty"],
        )
        runs = CounterMetricFamily(
            "givrwrld_duty_runs", "Runs of each duty, cluster-wide.", labels=["duty"]
        )

        def age(t: Any) -> float:
            return (now - t).total_seconds() if t is not None else -1.0

        for row in rows:
            labels = [row.name]
            started.add_metric(labels, age(row.last_started_at))
            finished.add_metric(labels, age(row.last_finished_at))
            interval.add_metric(labels, row.interval_seconds)
            held.add_metric(
                labels, 1 if row.expires_at is not None and row.expires_at >= now else 0
            )
            overdue.add_metric(labels, 0 if duty_overdue(row, now) is None else 1)
            failed.add_metric(labels, 1 if row.last_error else 0)
            runs.add_metric(labels, row.runs)
        yield from (started, finished, interval, held, overdue, failed, runs)


def task_queue_oldest_age(*, now: Any = None) -> float | None:
    """Seconds the oldest runnable READY task has waited (since enqueued, or since its
    run_after passed); None when the queue is empty."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = now or timezone.now()
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    undelayed = ready.filter(run_after=get_date_max()).aggregate(t=Min("enqueued_at"))["t"]
    delayed = (
        ready.exclude(run_after=get_date_max())
        .filter(run_after__lte=now)
        .aggregate(t=Min("run_after"))["t"]
    )
    starts = [t for t in (undelayed, delayed) if t is not None]
    return (now - min(starts)).total_seconds() if starts else None


SECTIONS.register("panel", DatabaseCollector._panel)
SECTIONS.register("tasks", DatabaseCollector._tasks)
SECTIONS.register("alerts", DatabaseCollector._alerts)
SECTIONS.register("heartbeats", DatabaseCollector._heartbeats)
SECTIONS.register("duties", DatabaseCollector._duties)

_registry = CollectorRegistry(auto_describe=False)
_registry.register(DatabaseCollector())


def metrics_render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(_registry), CONTENT_TYPE_LATEST
