"""Duty leases (core/duties.py): one worker per duty per interval, takeover after a death,
renewal while a duty runs long, errors recorded, the worker command stopping cleanly."""

from __future__ import annotations

import itertools
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from faultkit import spawn_duty_worker, wait_until
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from core.duties import (
    Duty,
    Scheduler,
    duty_lease_acquire,
    duty_lease_release,
    duty_lease_renew,
)
from core.models import DutyLease

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def take(owner: str, t: float, *, interval: float = 10, lease: float = 5) -> bool:
    return duty_lease_acquire(
        name="probe", owner=owner, interval_seconds=interval, lease_seconds=lease, now=at(t)
    )


@pytest.mark.django_db
def test_lease_rules_on_a_fake_clock():
    assert take("a", 0) is True
    assert take("b", 1) is False  # held by a
    assert duty_lease_release(name="probe", owner="a", now=at(2)) is True
    assert take("b", 3) is False  # free, but not due: a started it 3 s ago (interval 10)
    assert take("b", 10) is True  # due again: b runs it
    assert take("a", 10.5) is False
    assert duty_lease_release(name="probe", owner="b", now=at(11)) is True

    # a takes it at 20 and dies without a release: nobody may take it while the lease (5 s)
    # lives; the next interval after that, anyone may.
    assert take("a", 20) is True
    assert take("b", 24) is False
    assert take("b", 29.9) is False  # lease out, not yet due
    assert take("b", 30) is True
    assert duty_lease_renew(name="probe", owner="a", lease_seconds=5, now=at(31)) is False
    assert duty_lease_release(name="probe", owner="a", now=at(31)) is False  # b's row intact
    row = DutyLease.objects.get(name="probe")
    assert (row.owner, row.expires_at, row.last_started_at) == ("b", at(35), at(30))
    assert duty_lease_renew(name="probe", owner="b", lease_seconds=5, now=at(33)) is True
    assert DutyLease.objects.get(name="probe").expires_at == at(38)
    assert row.runs == 4


@pytest.mark.django_db
@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.floats(min_value=0, max_value=4, allow_nan=False),
            st.sampled_from(["take", "release", "die"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_property_no_two_runs_in_one_interval_and_never_under_a_live_lease(steps):
    """Whatever the interleaving of three workers (taking, finishing, dying), a successful
    take is always at least one interval after the previous one, and never while the
    previous holder's lease lives (unless that holder released it)."""
    DutyLease.objects.all().delete()
    interval, lease = 3.0, 2.0
    t = 0.0
    runs: list[tuple[str, float]] = []
    live: dict[str, float] = {}  # owner -> lease end, while it holds one
    for owner, dt, action in steps:
        t += dt
        if action == "take":
            if take(owner, t, interval=interval, lease=lease):
                if runs:
                    assert t - runs[-1][1] >= interval
                for other, until in live.items():
                    assert other == owner or until < t
                runs.append((owner, t))
                live = {owner: t + lease}
        elif action == "release" and owner in live:
            assert duty_lease_release(name="probe", owner=owner, now=at(t))
            del live[owner]
        elif action == "die":
            pass  # a dead holder does nothing: its lease just runs out


def _probe_duties(record: list, hold: float) -> list[Duty]:
    def run() -> None:
        row = DutyLease.objects.get(name="probe")
        record.append((row.owner, row.last_started_at, time.monotonic()))
        time.sleep(hold)
        record[-1] = (*record[-1], time.monotonic())

    return [Duty("probe", "TEST_PROBE_INTERVAL_SECONDS", run)]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_never_run_the_same_duty_in_the_same_interval(settings):
    settings.TEST_PROBE_INTERVAL_SECONDS = 0.3
    settings.DUTY_LEASE_SECONDS = 5
    record: list = []
    schedulers = [Scheduler(_probe_duties(record, hold=0.05), owner=o) for o in ("w1", "w2")]
    for s in schedulers:
        s.start(poll_seconds=0.01)
    time.sleep(3)
    for s in schedulers:
        assert s.stop(timeout=5)
    assert len(record) >= 5
    starts = [r[1] for r in record]
    assert starts == sorted(starts)
    for (_, s1, _, end1), (_, s2, begin2, _) in itertools.pairwise(record):
        assert (s2 - s1).total_seconds() >= 0.3  # one run per interval
        assert begin2 >= end1  # never two at once
    assert DutyLease.objects.get(name="probe").runs == len(record)


@pytest.mark.django_db(transaction=True)
def test_a_long_duty_keeps_its_lease_by_renewing_it(settings):
    settings.TEST_PROBE_INTERVAL_SECONDS = 0.05
    # Renewed every 0.5 s; the run takes 3 s, twice the lease.
    settings.DUTY_LEASE_SECONDS = 1.5
    record: list = []
    holder = Scheduler(_probe_duties(record, hold=3.0), owner="holder")
    thread = threading.Thread(target=holder.run_once)
    thread.start()
    assert wait_until(lambda: len(record) == 1, timeout=5, interval=0.01)
    rival = Scheduler(_probe_duties(record, hold=0), owner="rival")
    tries = 0
    while thread.is_alive():
        assert rival.run_once() == []  # the lease is renewed: never taken over mid-run
        tries += 1
        time.sleep(0.05)
    thread.join()
    connection.close()
    assert tries >= 10
    row = DutyLease.objects.get(name="probe")
    assert (row.owner, row.expires_at, row.runs) == ("holder", None, 1)
    assert rival.run_once() == ["probe"]  # free and due: the rival takes the next one


@pytest.mark.django_db
def test_a_crashing_duty_records_its_error_and_runs_next_interval(settings):
    settings.TEST_PROBE_INTERVAL_SECONDS = 0
    calls = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("bug in a duty")

    scheduler = Scheduler([Duty("probe", "TEST_PROBE_INTERVAL_SECONDS", broken)])
    assert scheduler.run_once() == ["probe"]
    row = DutyLease.objects.get(name="probe")
    assert (row.expires_at, row.last_error) == (None, "RuntimeError: bug in a duty")
    assert scheduler.run_once() == ["probe"]
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_worker_command_stops_both_loops_on_sigterm(catalog):
    proc = spawn_duty_worker(HEARTBEAT_INTERVAL_SECONDS=0.2)
    try:
        assert wait_until(
            lambda: DutyLease.objects.filter(name="heartbeat", runs__gte=2).exists(),
            timeout=60,
        ), proc.stderr.read().decode()[-3000:] if proc.poll() is not None and proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    leases = DutyLease.objects.all()
    assert sorted(r.name for r in leases) == [
        "billing_scan",
        "heartbeat",
        "panel_sync",
        "reconcile",
    ]
    assert [r.name for r in leases if r.expires_at is not None] == []  # every lease released
