"""/metrics after the real flow: every metric, exact values; and who may read it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from obskit import METRICS_TOKEN, buy_and_provision, scrape, series
from testkit import checkout

from billing.models import Order
from core.alerts import alert_send
from core.heartbeats import heartbeat_beat
from core.models import MetricValue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def test_metrics_after_end_to_end_flow(catalog, stripe_sandbox, customer):
    _, client = customer
    MetricValue.objects.all().delete()  # forget the catalogue sync's panel calls
    first = buy_and_provision(client, stripe_sandbox, server_name="first")
    second = buy_and_provision(client, stripe_sandbox, server_name="second")
    pending_id = checkout(client, server_name="unpaid").json()["order_id"]
    assert (first.status, second.status) == ("provisioned", "provisioned")
    # Known durations instead of the wall clock: 3 s and 700 s from payment to server.
    Order.objects.filter(pk=first.pk).update(provisioned_at=first.paid_at + timedelta(seconds=3))
    Order.objects.filter(pk=second.pk).update(
        provisioned_at=second.paid_at + timedelta(seconds=700)
    )
    alert_send(title="Order #0: test alert", body="body")
    heartbeat_beat(name="worker")

    m = scrape()

    orders = series(m, "givrwrld_orders")
    assert orders[(("status", "provisioned"),)] == 2
    assert orders[(("status", "pending"),)] == 1
    assert orders[(("status", "paid"),)] == 0
    assert orders[(("status", "error"),)] == 0
    assert Order.objects.get(pk=pending_id).status == "pending"
    assert m[("givrwrld_orders_paid_oldest_age_seconds", ())] == 0

    buckets = series(m, "givrwrld_provisioning_duration_seconds_bucket")
    assert buckets[(("le", "2.0"),)] == 0
    assert buckets[(("le", "5.0"),)] == 1
    assert buckets[(("le", "600.0"),)] == 1
    assert buckets[(("le", "1800.0"),)] == 2
    assert buckets[(("le", "+Inf"),)] == 2
    assert m[("givrwrld_provisioning_duration_seconds_count", ())] == 2
    assert m[("givrwrld_provisioning_duration_seconds_sum", ())] == pytest.approx(703)

    # New customer: create user + create server; returning customer: create server.
    calls = series(m, "givrwrld_panel_calls_total")
    assert calls == {
        (("endpoint", "POST /users"), ("outcome", "ok")): 1,
        (("endpoint", "POST /servers"), ("outcome", "ok")): 2,
    }
    assert set(series(m, "givrwrld_panel_call_seconds_total")) == set(calls)
    assert catalog.counters() == {
        "POST /api/application/users": 1,
        "POST /api/application/servers": 2,
    }
    assert m[("givrwrld_panel_rate_limit_limit", ())] == 240
    assert m[("givrwrld_panel_rate_limit_remaining", ())] == 237

    assert series(m, "givrwrld_stripe_events") == {
        (("status", "processed"), ("type", "checkout.session.completed")): 2
    }
    assert series(m, "givrwrld_task_queue_depth") == {
        (("state", "runnable"),): 0,
        (("state", "delayed"),): 0,
    }
    assert m[("givrwrld_task_queue_oldest_age_seconds", ())] == 0
    assert m[("givrwrld_tasks_running", ())] == 0
    assert series(m, "givrwrld_alerts_total") == {
        (("delivered", "true"),): 0,
        (("delivered", "false"),): 1,
    }
    assert (("name", "worker"),) in series(m, "givrwrld_heartbeat_age_seconds")


def test_queue_depth_and_age_count_waiting_tasks(catalog, stripe_sandbox, customer):
    _, client = customer
    order_id = checkout(client).json()["order_id"]
    stripe_sandbox.complete_session(Order.objects.get(pk=order_id).stripe_session_id)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(
        enqueued_at=DBTaskResult.objects.get().enqueued_at - timedelta(seconds=90)
    )
    Order.objects.filter(pk=order_id).update(
        paid_at=Order.objects.get(pk=order_id).paid_at - timedelta(seconds=30)
    )
    m = scrape()
    assert series(m, "givrwrld_task_queue_depth")[(("state", "runnable"),)] == 1
    assert m[("givrwrld_task_queue_oldest_age_seconds", ())] >= 90
    assert series(m, "givrwrld_orders")[(("status", "paid"),)] == 1
    assert m[("givrwrld_orders_paid_oldest_age_seconds", ())] >= 30


def test_failed_panel_calls_are_counted_by_outcome(catalog, stripe_sandbox, customer, settings):
    _, client = customer
    MetricValue.objects.all().delete()
    settings.PROVISION_MAX_ATTEMPTS = 1
    catalog.faults.wings_down = True
    order = buy_and_provision(client, stripe_sandbox)
    assert order.status == "error"
    calls = series(scrape(), "givrwrld_panel_calls_total")
    assert calls[(("endpoint", "POST /servers"), ("outcome", "server_error"))] == 1
    assert series(scrape(), "givrwrld_alerts_total")[(("delivered", "false"),)] == 1


def test_metrics_refuse_without_the_token(db):
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    wrong = Client().get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert b"givrwrld_" not in wrong.content


def test_metrics_forbidden_when_nothing_is_configured(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_metrics_allowed_network(db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "127.0.0.1"]
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.2.3.4").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.168.1.9").get("/metrics").status_code == 403


def test_duty_metrics_say_what_readyz_says(catalog, settings):
    from core.duties import Scheduler
    from core.models import DutyLease
    from provisioning.duties import DUTIES

    settings.RECONCILE_INTERVAL_SECONDS = 60
    scheduler = Scheduler(DUTIES)
    assert scheduler.run_once() == ["heartbeat", "reconcile", "billing_scan", "panel_sync"]
    DutyLease.objects.filter(name="reconcile").update(
        last_started_at=timezone.now() - timedelta(seconds=500),
        last_finished_at=timezone.now() - timedelta(seconds=499),
    )
    DutyLease.objects.filter(name="panel_sync").update(
        last_error="panel sync failed: connection refused",
        expires_at=timezone.now() + timedelta(seconds=30),
    )
    m = scrape()
    duties = [(("duty", d),) for d in ("billing_scan", "heartbeat", "panel_sync", "reconcile")]
    assert series(m, "givrwrld_duty_overdue") == dict(zip(duties, [0, 0, 0, 1], strict=True))
    assert series(m, "givrwrld_duty_lease_held") == dict(zip(duties, [0, 0, 1, 0], strict=True))
    assert series(m, "givrwrld_duty_last_run_failed") == dict(
        zip(duties, [0, 0, 1, 0], strict=True)
    )
    assert series(m, "givrwrld_duty_runs_total") == dict(zip(duties, [1, 1, 1, 1], strict=True))
    assert series(m, "givrwrld_duty_interval_seconds")[(("duty", "reconcile"),)] == 60
    assert 500 <= m[("givrwrld_duty_last_started_age_seconds", (("duty", "reconcile"),))] < 600
    assert 499 <= m[("givrwrld_duty_last_finished_age_seconds", (("duty", "reconcile"),))] < 600


def test_stuck_orders_and_interrupted_attempts_are_metrics(
    catalog, stripe_sandbox, customer, settings
):
    from provisioning.models import ProvisioningAttempt

    settings.READY_PROVISIONING_GRACE_SECONDS = 60
    settings.READY_PAID_MAX_AGE_MINUTES = 15
    _, client = customer
    stuck_id, paid_id = (checkout(client, server_name=n).json()["order_id"] for n in "ab")
    now = timezone.now()
    Order.objects.filter(pk=stuck_id).update(
        status="provisioning", lease_until=now - timedelta(minutes=5)
    )
    Order.objects.filter(pk=paid_id).update(status="paid", paid_at=now - timedelta(minutes=20))
    ProvisioningAttempt.objects.create(order_id=stuck_id, number=1, outcome="interrupted")
    ProvisioningAttempt.objects.create(order_id=stuck_id, number=2, outcome="running")
    m = scrape()
    assert m[("givrwrld_orders_provisioning_stuck", ())] == 1
    assert m[("givrwrld_orders_paid_overdue", ())] == 1
    assert series(m, "givrwrld_provisioning_attempts_total") == {
        (("outcome", "succeeded"),): 0,
        (("outcome", "retrying"),): 0,
        (("outcome", "failed"),): 0,
        (("outcome", "running"),): 1,
        (("outcome", "interrupted"),): 1,
    }
