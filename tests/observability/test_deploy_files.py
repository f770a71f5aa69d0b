"""deploy/grafana-dashboard.json and deploy/alert-rules.yml use only metrics (and labels) that
/metrics exports: every name in every query is looked up in the live registry's samples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from billing.models import StripeEvent
from core.heartbeats import heartbeat_beat
from core.metrics import (
    PANEL_CALL_SECONDS,
    PANEL_CALLS,
    PANEL_RATE_LIMIT_LIMIT,
    PANEL_RATE_LIMIT_OBSERVED,
    PANEL_RATE_LIMIT_REMAINING,
    _registry,
    metric_increment,
    metric_set,
)
from core.models import DutyLease

pytestmark = pytest.mark.django_db

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# A metric name, then optionally its {label matchers}.
_SELECTOR = re.compile(r"\b(givrwrld_[a-z0-9_]+)(\{[^}]*\})?")
_LABEL = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")


def _exported() -> dict[str, set[str]]:
    """Every sample name /metrics renders, with the label names it carries."""
    # Series with a row behind them appear once there is one: the rate-limit gauges after a
    # panel response, heartbeat and duty series once a worker ran (core/metrics.py).
    for name in (PANEL_RATE_LIMIT_LIMIT, PANEL_RATE_LIMIT_REMAINING, PANEL_RATE_LIMIT_OBSERVED):
        metric_set(name=name, value=1)
    metric_increment(name=PANEL_CALLS, labels={"endpoint": "GET /x", "outcome": "ok"})
    metric_increment(name=PANEL_CALL_SECONDS, labels={"endpoint": "GET /x", "outcome": "ok"})
    heartbeat_beat(name="worker")
    DutyLease.objects.create(name="reconcile", interval_seconds=60)
    StripeEvent.objects.create(event_id="evt_1", type="x", payload={}, status="failed")
    names: dict[str, set[str]] = {}
    for family in _registry.collect():
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def _queries() -> list[tuple[str, str]]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    found = [
        (f"dashboard panel {panel['title']!r}", target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]
    rules = yaml.safe_load((DEPLOY / "alert-rules.yml").read_text())
    found += [
        (f"rule {rule['alert']}", rule["expr"])
        for group in rules["groups"]
        for rule in group["rules"]
    ]
    return found


def test_every_metric_and_label_in_the_deploy_files_exists():
    exported = _exported()
    queries = _queries()
    assert len(queries) >= 30
    used: set[str] = set()
    for where, expr in queries:
        selectors = _SELECTOR.findall(expr)
        assert selectors, f"{where}: no givrwrld metric in {expr!r}"
        for name, matchers in selectors:
            assert name in exported, f"{where}: {name} is not exported by /metrics"
            used.add(name)
            for label in _LABEL.findall(matchers or ""):
                assert label in exported[name] | {"le"}, f"{where}: {name} has no label {label}"
    # by (...) clauses name labels too.
    for where, expr in queries:
        for group in re.findall(r"by \(([^)]*)\)", expr):
            for label in (g.strip() for g in group.split(",")):
                assert any(label in labels for labels in exported.values()), (where, label)
    # The files cover the operator's main questions.
    for must in (
        "givrwrld_heartbeat_age_seconds",
        "givrwrld_orders_paid_overdue",
        "givrwrld_duty_overdue",
        "givrwrld_task_queue_oldest_age_seconds",
        "givrwrld_provisioning_duration_seconds_bucket",
        "givrwrld_panel_calls_total",
    ):
        assert must in used, must


def test_the_checker_catches_a_missing_metric():
    exported = _exported()
    assert "givrwrld_no_such_metric" not in exported
    assert _SELECTOR.findall('rate(givrwrld_no_such_metric{x="1"}[5m])') == [
        ("givrwrld_no_such_metric", '{x="1"}')
    ]
