"""/healthz and /readyz: each check, 200 or 503 with the reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Order
from core.health import check_panel
from core.heartbeats import heartbeat_beat
from core.models import Heartbeat


@pytest.fixture(autouse=True)
def _fresh_probe():
    check_panel.clear()
    yield
    check_panel.clear()


def _checks(response):
    return {c["name"]: c for c in response.json()["checks"]}


def test_healthz_needs_no_database():
    # No db fixture: any query would raise.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_all_is_well(catalog):
    heartbeat_beat(name="worker")
    response = Client().get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ok"
    assert {n: c["ok"] for n, c in _checks(response).items()} == {
        "database": True,
        "worker": True,
        "panel": True,
        "backlog": True,
    }


def test_panel_probe_is_cached(catalog):
    heartbeat_beat(name="worker")
    for _ in range(5):
        assert Client().get("/readyz").status_code == 200
    assert catalog.counters() == {"GET /api/application/locations": 1}


def test_not_ready_without_worker_heartbeat(catalog, settings):
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert _checks(response)["worker"] == {
        "name": "worker",
        "ok": False,
        "detail": "no worker heartbeat yet",
    }
    settings.READY_WORKER_MAX_AGE_SECONDS = 60
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=300))
    worker = _checks(Client().get("/readyz"))["worker"]
    assert worker["ok"] is False and "limit 60s" in worker["detail"]


def test_not_ready_when_panel_unreachable(catalog):
    heartbeat_beat(name="worker")
    catalog.shutdown()
    response = Client().get("/readyz")
    assert response.status_code == 503
    panel = _checks(response)["panel"]
    assert panel["ok"] is False and "PanelConnectionError" in panel["detail"]


@pytest.mark.django_db(transaction=True)
def test_not_ready_when_paid_order_is_stuck(catalog, stripe_sandbox, customer, settings):
    from testkit import checkout

    heartbeat_beat(name="worker")
    _, client = customer
    order_id = checkout(client).json()["order_id"]
    stripe_sandbox.complete_session(Order.objects.get(pk=order_id).stripe_session_id)
    assert Client().get("/readyz").status_code == 200  # just paid, task just queued
    settings.READY_PAID_MAX_AGE_MINUTES = 15
    settings.READY_TASK_MAX_AGE_SECONDS = 300
    Order.objects.filter(pk=order_id).update(paid_at=timezone.now() - timedelta(minutes=20))
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=400))
    response = Client().get("/readyz")
    assert response.status_code == 503
    backlog = _checks(response)["backlog"]
    assert backlog["ok"] is False
    assert "oldest runnable task waited" in backlog["detail"]
    assert "1 order(s) paid more than 15 min ago" in backlog["detail"]
