"""The worker's periodic tick: heartbeat, reconciler, panel sync.

A task that re-queues itself every WORKER_TICK_SECONDS. `manage.py worker` makes sure one is
queued before it starts the db_worker loop. Each job records when it last ran (a heartbeat
row), so with several workers on several machines it still runs about once per interval.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.heartbeats import heartbeat_age, heartbeat_beat

logger = logging.getLogger(__name__)

TICK_TASK_PATH = "provisioning.tasks.worker_tick"
# A tick RUNNING for longer than this belonged to a worker that died mid-tick.
_TICK_RUNNING_GRACE = timedelta(minutes=5)


def _due(name: str, every_seconds: int) -> bool:
    age = heartbeat_age(name=name)
    return age is None or age >= timedelta(seconds=every_seconds)


def tick_run() -> str:
    from catalog.sync import catalog_sync
    from panel.client import PanelClient
    from panel.errors import PanelError
    from provisioning.reconcile import reconcile

    heartbeat_beat(name="worker")
    done = []
    panel_due = _due("panel_sync", settings.PANEL_SYNC_INTERVAL_SECONDS)
    if _due("reconcile", settings.RECONCILE_INTERVAL_SECONDS):
        heartbeat_beat(name="reconcile")
        reconcile(panel_checks=panel_due)
        done.append("reconcile")
    if panel_due:
        heartbeat_beat(name="panel_sync")
        try:
            with PanelClient.from_settings() as client:
                catalog_sync(client=client)
            done.append("panel_sync")
        except PanelError as exc:
            logger.warning("Periodic panel sync failed: %s", exc)
    tick_schedule()
    return ", ".join(done) or "heartbeat"


def _queued_ticks() -> int:
    return DBTaskResult.objects.filter(
        task_path=TICK_TASK_PATH, status=TaskResultStatus.READY
    ).count()


def tick_schedule() -> None:
    """Queue the next tick, unless another worker already did."""
    from provisioning.tasks import worker_tick

    if _queued_ticks() == 0:
        run_after = timezone.now() + timedelta(seconds=settings.WORKER_TICK_SECONDS)
        worker_tick.using(run_after=run_after).enqueue()


def tick_ensure() -> bool:
    """Queue a tick now if none is queued or running. Returns whether one was queued."""
    from provisioning.tasks import worker_tick

    with transaction.atomic():
        running = DBTaskResult.objects.filter(
            task_path=TICK_TASK_PATH,
            status=TaskResultStatus.RUNNING,
            started_at__gt=timezone.now() - _TICK_RUNNING_GRACE,
        ).exists()
        if running or _queued_ticks():
            return False
        worker_tick.enqueue()
        return True
