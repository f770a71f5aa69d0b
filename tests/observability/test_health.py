"""/healthz and /readyz: each check, 200 or 503 with the reasons."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Order
from core.duties import Scheduler
from core.heartbeats import heartbeat_beat
from core.models import DutyLease, Heartbeat
from panel.health import check_panel
from provisioning.duties import DUTIES


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


def _all_duties_ran(catalog) -> None:
    """What a worker's scheduler does first: every duty once (the heartbeat among them)."""
    assert len(Scheduler(DUTIES).run_once()) == 4
    catalog.reset_counters()


def test_ready_when_all_is_well(catalog):
    _all_duties_ran(catalog)
    response = Client().get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ok"
    assert {n: c["ok"] for n, c in _checks(response).items()} == {
        "database": True,
        "worker": True,
        "panel": True,
        "backlog": True,
        "provisioning": True,
        "duties": True,
    }


def test_panel_probe_is_cached(catalog):
    _all_duties_ran(catalog)
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
    _all_duties_ran(catalog)
    catalog.shutdown()
    response = Client().get("/readyz")
    assert response.status_code == 503
    panel = _checks(response)["panel"]
    assert panel["ok"] is False and "PanelConnectionError" in panel["detail"]


@pytest.mark.django_db(transaction=True)
def test_not_ready_when_paid_order_is_stuck(catalog, stripe_sandbox, customer, settings):
    from testkit import checkout

    _all_duties_ran(catalog)
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
    assert (
        f"1 order(s) paid more than 15 min ago and not picked up: #{order_id}"
        in (backlog["detail"])
    )


def test_not_ready_without_any_duty_run(catalog):
    heartbeat_beat(name="worker")
    duties = _checks(Client().get("/readyz"))["duties"]
    assert duties == {
        "name": "duties",
        "ok": False,
        "detail": "no periodic duty has run yet (is a worker running?)",
    }


def test_not_ready_when_a_duty_is_older_than_twice_its_interval(catalog, settings):
    settings.RECONCILE_INTERVAL_SECONDS = 60
    _all_duties_ran(catalog)
    # 150 s ago is more than 2 x 60 s: the reconciler's holder died and nobody took over.
    DutyLease.objects.filter(name="reconcile").update(
        last_started_at=timezone.now() - timedelta(seconds=150)
    )
    response = Client().get("/readyz")
    assert response.status_code == 503
    detail = _checks(response)["duties"]["detail"]
    assert re.fullmatch(r"reconcile: last started 15\ds ago \(limit 120s\)", detail), detail
    # Still running under a live lease (a long run renews it): not overdue.
    DutyLease.objects.filter(name="reconcile").update(
        expires_at=timezone.now() + timedelta(seconds=30)
    )
    assert Client().get("/readyz").status_code == 200
    # 110 s ago, lease free: within twice the interval.
    DutyLease.objects.filter(name="reconcile").update(
        expires_at=None, last_started_at=timezone.now() - timedelta(seconds=110)
    )
    assert _checks(Client().get("/readyz"))["duties"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_not_ready_when_provisioning_lease_expired_names_the_orders(
    catalog, stripe_sandbox, customer, settings
):
    from testkit import checkout

    _all_duties_ran(catalog)
    settings.READY_PROVISIONING_GRACE_SECONDS = 120
    _, client = customer
    ids = [checkout(client, server_name=f"s{i}").json()["order_id"] for i in range(3)]
    now = timezone.now()
    # A dead worker's order (lease out 10 min ago), one whose lease just ran out (within
    # the grace: the reconciler has not had its turn yet), one held by a live worker.
    Order.objects.filter(pk=ids[0]).update(
        status="provisioning", lease_until=now - timedelta(minutes=10)
    )
    Order.objects.filter(pk=ids[1]).update(
        status="provisioning", lease_until=now - timedelta(seconds=30)
    )
    Order.objects.filter(pk=ids[2]).update(
        status="provisioning", lease_until=now + timedelta(minutes=4)
    )
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert _checks(response)["provisioning"] == {
        "name": "provisioning",
        "ok": False,
        "detail": f"1 order(s) in 'provisioning' with a lease expired more than 120s ago: "
        f"#{ids[0]}",
    }
    Order.objects.filter(pk=ids[1]).update(lease_until=now - timedelta(minutes=3))
    detail = _checks(Client().get("/readyz"))["provisioning"]["detail"]
    assert detail.endswith(f": #{ids[0]}, #{ids[1]}")
