"""Periodic duties under database leases: the safety net no crash can stop.

Every worker (`manage.py worker`) runs a `Scheduler` beside its task loop, one thread per duty
(reconcile, panel sync, billing scan, heartbeat; the list is provisioning/duties.py). A duty
runs only in the worker that wins one conditional UPDATE on its `duty_leases` row:

    UPDATE duty_leases SET owner = me, expires_at = now + lease, last_started_at = now
    WHERE name = ? AND (expires_at IS NULL OR expires_at < now OR owner = me)
                   AND (last_started_at IS NULL OR last_started_at <= now - interval)

The database decides: of several workers that see a duty due, one changes the row and the
others change nothing, so one worker runs a duty per interval. While the duty runs, a small
thread renews the lease every third of its length; a holder killed at any line stops renewing,
its lease runs out, and the next scheduler pass of any worker takes the duty over: within
max(interval, lease) + DUTY_POLL_SECONDS of the death. Nothing re-queues itself, so nothing is
lost when the process that should have re-queued dies.

Times are each worker's clock (`timezone.now()`), read after the row lock is held, so a worker
that waited for the lock never writes a lease that started in the past: run NTP on worker
machines; the lease lengths (seconds to minutes) dwarf the skew NTP leaves.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.models import DutyLease

logger = logging.getLogger(__name__)

_ERROR_MAX = 2000


class DutyFailed(Exception):
    """A duty could not do its work this time for a reason worth a log line, not a traceback
    (the panel is down, ...). The scheduler records it as the duty's last error."""


class DutyStopped(Exception):
    """The scheduler is stopping: a duty that paces itself (the panel sync) ends its run early
    at its next wait. Not an error; the next run starts over."""


_running = threading.local()


def duty_wait(seconds: float) -> None:
    """Sleep inside a duty; raise DutyStopped at once if its scheduler is stopping (a paced
    panel sync may run for most of an hour and must not hold a worker's shutdown)."""
    stop: threading.Event | None = getattr(_running, "stop", None)
    if stop is None:
        time.sleep(max(0.0, seconds))
    elif stop.wait(max(0.0, seconds)):
        raise DutyStopped


@dataclass(frozen=True)
class Duty:
    """A named periodic job. The interval is read from settings at every pass, so a change
    (or a test's override) applies without a restart."""

    name: str
    interval_setting: str
    run: Callable[[], object]

    def interval_seconds(self) -> float:
        return float(getattr(settings, self.interval_setting))


def worker_owner_id() -> str:
    """A name unique to this process: host, pid and a random tag (pids repeat after restarts)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


# --- the lease (one row per duty) -------------------------------------------------------------


def duty_lease_ensure(*, name: str) -> None:
    """Create the duty's row if it does not exist (a concurrent creator wins harmlessly)."""
    if DutyLease.objects.filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            DutyLease.objects.create(name=name)
    except IntegrityError:
        pass


def duty_lease_acquire(
    *,
    name: str,
    owner: str,
    interval_seconds: float,
    lease_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Take the duty for one run if it is due and its lease is free, expired or ours. One
    UPDATE whose WHERE is the whole check, so two workers can never both win it."""
    duty_lease_ensure(name=name)
    with transaction.atomic():
        # Wait for the row (and on SQLite the write lock) first, then read the clock: a worker
        # that waited must not write a lease that began, and perhaps ended, while it waited.
        _lock(name)
        now = now or timezone.now()
        due_before = now - timedelta(seconds=interval_seconds)
        taken = (
            DutyLease.objects.filter(name=name)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now) | Q(owner=owner))
            .filter(Q(last_started_at__isnull=True) | Q(last_started_at__lte=due_before))
            .update(
                owner=owner,
                expires_at=now + timedelta(seconds=lease_seconds),
                last_started_at=now,
                interval_seconds=interval_seconds,
                runs=F("runs") + 1,
            )
        )
    return taken == 1


def _lock(name: str) -> None:
    """The duty's row lock for the rest of the transaction (SQLite: the BEGIN IMMEDIATE of
    the atomic block already holds the database's write lock)."""
    list(DutyLease.objects.select_for_update().filter(name=name).values_list("pk", flat=True))


def duty_lease_renew(
    *, name: str, owner: str, lease_seconds: float, now: datetime | None = None
) -> bool:
    """Push our lease's expiry forward while the duty runs. False when the lease is no longer
    ours (we stalled past its end and another worker took the duty over)."""
    with transaction.atomic():
        _lock(name)
        now = now or timezone.now()
        renewed = DutyLease.objects.filter(name=name, owner=owner, expires_at__isnull=False).update(
            expires_at=now + timedelta(seconds=lease_seconds)
        )
    return renewed == 1


def duty_lease_release(
    *, name: str, owner: str, error: str = "", now: datetime | None = None
) -> bool:
    """The run is over: free the lease, record when and how it ended."""
    now = now or timezone.now()
    released = DutyLease.objects.filter(name=name, owner=owner).update(
        expires_at=None, last_finished_at=now, last_error=error[:_ERROR_MAX]
    )
    if not released:
        logger.warning("Duty %s finished after another worker took its lease over", name)
    return released == 1


def _looks_due(row: DutyLease | None, interval_seconds: float, now: datetime) -> bool:
    """A cheap read before the UPDATE, so idle polls write nothing. Only the UPDATE decides."""
    if row is None:
        return True
    if row.expires_at is not None and row.expires_at >= now:
        return False
    return row.last_started_at is None or row.last_started_at <= now - timedelta(
        seconds=interval_seconds
    )


# --- reading (readiness, metrics) ------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    name: str
    age: float | None
    """Seconds since the duty last started; None if it never did."""
    limit: float

    def describe_age(self) -> str:
        return "never" if self.age is None else f"{self.age:.0f}s ago"


def duty_overdue(row: DutyLease, now: datetime) -> Overdue | None:
    """A duty is overdue when it has not started for twice its interval and no live lease says
    it is still running (a long panel sync renews its lease; a dead holder's lease runs out)."""
    limit = 2 * row.interval_seconds
    if row.expires_at is not None and row.expires_at >= now:
        return None
    if row.last_started_at is None:
        return Overdue(row.name, None, limit)
    age = (now - row.last_started_at).total_seconds()
    return Overdue(row.name, age, limit) if age > limit else None


def duties_overdue(*, now: datetime | None = None) -> list[Overdue]:
    now = now or timezone.now()
    found = (duty_overdue(row, now) for row in DutyLease.objects.order_by("name"))
    return [o for o in found if o is not None]


# --- the scheduler ------------------------------------------------------------------------------


class Scheduler:
    """Runs `duties` under their leases. `run_once()` is one pass (tests, `manage.py worker
    --once`); `start()` runs one thread per duty until `stop()`, so a long panel sync never
    delays the heartbeat, and none of them delays the task loop the worker runs beside it."""

    def __init__(self, duties: Sequence[Duty], *, owner: str | None = None) -> None:
        self.duties = list(duties)
        self.owner = owner or worker_owner_id()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # one pass ------------------------------------------------------------------------------
    def run_once(self) -> list[str]:
        """Run every duty that is due and whose lease this worker wins. Returns their names."""
        return [duty.name for duty in self.duties if self.run_duty_if_due(duty)]

    def run_duty_if_due(self, duty: Duty) -> bool:
        interval = duty.interval_seconds()
        now = timezone.now()
        row = DutyLease.objects.filter(name=duty.name).first()
        if not _looks_due(row, interval, now):
            return False
        lease = float(settings.DUTY_LEASE_SECONDS)
        if not duty_lease_acquire(
            name=duty.name, owner=self.owner, interval_seconds=interval, lease_seconds=lease
        ):
            return False
        self._run(duty, lease)
        return True

    def _run(self, duty: Duty, lease_seconds: float) -> None:
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew,
            args=(duty.name, lease_seconds, done),
            name=f"duty-lease-{duty.name}",
            daemon=True,
        )
        renewer.start()
        error = ""
        _running.stop = self._stop
        try:
            result = duty.run()
            logger.info("Duty %s: %s", duty.name, result)
        except DutyStopped:
            logger.info("Duty %s: stopped early (the worker is stopping)", duty.name)
        except DutyFailed as exc:
            error = str(exc)
            logger.warning("Duty %s failed: %s", duty.name, exc)
        except Exception as exc:  # a bug must not kill the thread: record it, retry next interval
            error = f"{type(exc).__name__}: {exc}"
            logger.exception("Duty %s crashed", duty.name)
        finally:
            _running.stop = None
            done.set()
            renewer.join()
            duty_lease_release(name=duty.name, owner=self.owner, error=error)

    def _renew(self, name: str, lease_seconds: float, done: threading.Event) -> None:
        try:
            while not done.wait(lease_seconds / 3):
                try:
                    renewed = duty_lease_renew(
                        name=name, owner=self.owner, lease_seconds=lease_seconds
                    )
                    if not renewed:
                        logger.warning("Duty %s: lease lost to another worker", name)
                        return
                except Exception:  # the database blinked: the next renewal may succeed
                    logger.exception("Duty %s: lease renewal failed", name)
        finally:
            connections.close_all()  # this thread's connection only

    # threads -------------------------------------------------------------------------------
    def start(self, *, poll_seconds: float | None = None) -> None:
        poll = float(settings.DUTY_POLL_SECONDS if poll_seconds is None else poll_seconds)
        self._stop.clear()
        for duty in self.duties:
            thread = threading.Thread(
                target=self._loop, args=(duty, poll), name=f"duty-{duty.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        logger.info("Scheduler %s started: %s", self.owner, ", ".join(d.name for d in self.duties))

    def _loop(self, duty: Duty, poll: float) -> None:
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    self.run_duty_if_due(duty)
                except Exception:  # database unreachable, ...: try again at the next poll
                    logger.exception("Scheduler pass for %s failed", duty.name)
                self._stop.wait(poll)
        finally:
            connections.close_all()  # this thread's connection only

    def stop(self, *, timeout: float | None = None) -> bool:
        """Ask every duty thread to stop after its current run; wait up to `timeout` for them.
        Returns whether all stopped (a duty still running holds its lease until it ends or the
        process exits, then the lease runs out)."""
        self._stop.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        alive = [t for t in self._threads if t.is_alive()]
        self._threads = alive
        return not alive
