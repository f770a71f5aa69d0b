"""The reconciler, the worker's duties and the operator's "mark resolved"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from testkit import checkout, run_worker

from billing.models import Order
from core.duties import Scheduler
from core.errors import ServiceError
from core.heartbeats import heartbeat_age
from core.models import Alert, DutyLease
from panel.client import PanelClient
from panel.types import FeatureLimits, ServerCreateSpec, ServerLimits
from provisioning.duties import DUTIES
from provisioning.reconcile import reconcile
from provisioning.services import order_mark_resolved

pytestmark = pytest.mark.django_db(transaction=True)


def _provisioned(client, stripe_sandbox) -> Order:
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    return order


def _make_server_in_panel(order: Order) -> int:
    """What an earlier attempt (or an operator) did: a server under the order's external id."""
    with PanelClient.from_settings() as client:
        user = client.user_create(
            email="hand@example.com", username="handmade", first_name="H", last_name="M"
        )
        server = client.server_create(
            ServerCreateSpec(
                name="by hand",
                user_id=user.id,
                egg_id=3,
                docker_image="ghcr.io/pterodactyl/yolks:java_21",
                startup="java -jar server.jar",
                environment={"SERVER_JARFILE": "server.jar", "BUILD_NUMBER": "latest"},
                limits=ServerLimits(memory=1024, swap=0, disk=1024, io=500, cpu=100),
                feature_limits=FeatureLimits(),
                external_id=order.panel_external_id,
                allocation_id=order.allocation.ptero_allocation_id,
            )
        )
    return server.id


def test_install_that_never_finishes_is_alerted_once(catalog, stripe_sandbox, customer, settings):
    catalog.faults.install_mode = "never"
    _, client = customer
    order = _provisioned(client, stripe_sandbox)
    settings.INSTALL_TIMEOUT_SECONDS = 0

    first = reconcile()
    second = reconcile()

    assert first.install_alerts == [order.pk]
    assert second.install_alerts == []
    alert = Alert.objects.get(order_id=order.pk)
    assert alert.title == f"Order #{order.pk}: server install installing"
    assert f"Panel server {order.ptero_server_id}" in alert.body


def test_finished_install_is_recorded(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _provisioned(client, stripe_sandbox)
    report = reconcile()
    assert report.installed == [order.pk]
    order.refresh_from_db()
    assert order.installed_at is not None
    assert Alert.objects.count() == 0


def test_vanished_server_is_alerted_once(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _provisioned(client, stripe_sandbox)
    del catalog.state.servers[order.ptero_server_id]  # deleted in the panel by hand

    assert reconcile().vanished_alerts == [order.pk]
    assert reconcile().vanished_alerts == []
    assert Alert.objects.get(order_id=order.pk).title == (
        f"Order #{order.pk}: panel server {order.ptero_server_id} is gone"
    )


def test_stuck_provisioning_is_resumed_and_adopts_the_server_the_dead_worker_made(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id, deliver=False)
    server_id = _make_server_in_panel(order)
    Order.objects.filter(pk=order.pk).update(
        status="provisioning", provisioning_attempts=1, lease_until=timezone.now() - timedelta(1)
    )
    catalog.reset_counters()

    assert reconcile(panel_checks=False).resumed == [order.pk]
    run_worker()

    order.refresh_from_db()
    assert order.status == "provisioned"
    assert order.ptero_server_id == server_id
    assert len(catalog.state.servers) == 1
    assert catalog.counters() == {"GET /api/application/servers/external/{external_id}": 1}


def test_live_lease_is_left_alone(catalog, stripe_sandbox, customer):
    _, client = customer
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    Order.objects.filter(pk=order.pk).update(
        status="provisioning", lease_until=timezone.now() + timedelta(minutes=5)
    )
    assert reconcile(panel_checks=False).resumed == []


def test_mark_resolved_adopts_a_server_made_by_hand(catalog, stripe_sandbox, customer):
    _, client = customer
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    Order.objects.filter(pk=order.pk).update(status="error", error_message="panel said no")

    with pytest.raises(ServiceError, match="has no server with external id"):
        order_mark_resolved(order_id=order.pk, actor="staff:ops")
    assert Order.objects.get(pk=order.pk).status == "error"

    server_id = _make_server_in_panel(order)
    resolved = order_mark_resolved(order_id=order.pk, actor="staff:ops")
    assert resolved.status == "provisioned"
    assert resolved.ptero_server_id == server_id
    assert resolved.error_message == ""
    assert resolved.events.last().actor == "staff:ops"


def test_duties_beat_reconcile_scan_and_sync_once_per_interval(catalog, settings):
    assert heartbeat_age(name="worker") is None
    scheduler = Scheduler(DUTIES)

    assert scheduler.run_once() == ["heartbeat", "reconcile", "billing_scan", "panel_sync"]
    assert heartbeat_age(name="worker") < timedelta(seconds=5)
    assert scheduler.run_once() == []  # within every interval: nothing runs twice
    assert Scheduler(DUTIES).run_once() == []  # nor in a second worker
    # No self-re-queuing task chain: the duties leave no task row behind.
    assert not DBTaskResult.objects.filter(task_path__endswith="worker_tick").exists()
    leases = {row.name: row for row in DutyLease.objects.all()}
    assert sorted(leases) == ["billing_scan", "heartbeat", "panel_sync", "reconcile"]
    for row in leases.values():
        assert row.owner == scheduler.owner
        assert row.expires_at is None  # released
        assert row.runs == 1
        assert row.last_error == ""
        assert row.last_finished_at >= row.last_started_at
    assert leases["panel_sync"].interval_seconds == settings.PANEL_SYNC_INTERVAL_SECONDS

    settings.HEARTBEAT_INTERVAL_SECONDS = 0  # due again at once
    assert scheduler.run_once() == ["heartbeat"]


def test_a_paid_order_already_waiting_in_the_queue_is_not_queued_again(
    catalog, stripe_sandbox, customer
):
    """Under a backlog every pass used to add one more task per waiting order, and the
    duplicates outgrew the drain: a paid order whose task still waits is left alone, and one
    whose task is gone (lost, or run and failed before its claim) is queued once."""
    _, client = customer
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)  # the webhook queues its task
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    tasks = DBTaskResult.objects.filter(task_path="provisioning.tasks.provision_order")
    assert tasks.filter(status="READY").count() == 1

    for _ in range(3):
        assert reconcile(panel_checks=False).requeued == []
    assert tasks.filter(status="READY").count() == 1

    tasks.delete()  # the task was lost
    assert reconcile(panel_checks=False).requeued == [order.pk]
    assert reconcile(panel_checks=False).requeued == []
    assert tasks.filter(status="READY").count() == 1
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
