"""Background panel traffic (core/panel_budget.py, panel/throttle.py, provisioning/panel_scan.py):
never over its budget in any 60-second window, always after provisioning, one scan at a time
across workers, and the paced panel sync still finds installs and vanished servers."""

from __future__ import annotations

import itertools
import threading
from bisect import bisect_left

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from test_reconcile import _provisioned

from core import panel_budget
from core.duties import Duty, Scheduler
from core.models import Alert, DutyLease, PanelBudget
from panel.throttle import FOREGROUND_WAITING, RESET_MARGIN_SECONDS, RateLimiter
from provisioning import duties, panel_scan


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def most_in_a_window(times: list[float], window: float = 60.0) -> int:
    times = sorted(times)
    return max(
        (bisect_left(times, t + window) - i for i, t in enumerate(times)),
        default=0,
    )


# --- the budget ---------------------------------------------------------------------------------


@pytest.mark.django_db
@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    calls=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=30, allow_nan=False),  # idle before the call
            st.floats(min_value=0, max_value=8, allow_nan=False),  # left this late (yielded)
        ),
        min_size=1,
        max_size=60,
    )
)
def test_background_budget_is_never_exceeded_in_any_60s_window(calls, settings, monkeypatch):
    settings.PANEL_RATE_LIMIT_PER_MINUTE = 240
    settings.PANEL_BACKGROUND_SHARE = 0.05  # 12 a minute: one every 5.1 s (5 s + 2 %)
    PanelBudget.objects.all().delete()
    clock = FakeClock()
    monkeypatch.setattr(panel_budget, "clock", clock)
    monkeypatch.setattr(panel_budget, "sleep", clock.sleep)
    late = iter([lateness for _, lateness in calls])

    def yield_to_foreground(*, sleep):  # what a waiting provisioning call makes it do
        sleep(next(late))

    class Throttle:
        pass

    throttle = Throttle()
    throttle.yield_to_foreground = yield_to_foreground  # type: ignore[attr-defined]
    pace = panel_budget.background_pacer(throttle)
    sent = []
    for idle, _ in calls:
        clock.sleep(idle)
        pace()
        sent.append(clock())
    assert most_in_a_window(sent) <= 12
    spacing = panel_budget.background_spacing()
    assert all(b - a >= spacing - 1e-6 for a, b in itertools.pairwise(sent))
    assert PanelBudget.objects.get().calls == len(calls)


@pytest.mark.django_db(transaction=True)
def test_one_budget_for_all_workers(settings):
    """Two workers (threads, each its own database connection) pacing at once: their calls
    together keep the spacing, as one worker's would."""
    settings.PANEL_RATE_LIMIT_PER_MINUTE = 240
    settings.PANEL_BACKGROUND_SHARE = 0.05
    slots: list[float] = []
    lock = threading.Lock()

    def worker():
        from django.db import connection

        try:
            for _ in range(6):
                slot = panel_budget.budget_slot_take()  # no sleep: just the slots given out
                with lock:
                    slots.append(slot)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    assert len(slots) == 12
    spacing = panel_budget.background_spacing()
    assert spacing == pytest.approx(5.1)
    assert all(b - a == pytest.approx(spacing) for a, b in itertools.pairwise(slots))
    assert PanelBudget.objects.get().calls == 12


# --- priority -------------------------------------------------------------------------------------


class GateClock(FakeClock):
    """A clock whose sleepers block until the test lets them go (then the time is theirs)."""

    def __init__(self) -> None:
        super().__init__()
        self.sleepers = 0
        self.entered = 0  # sleeps begun so far
        self.cond = threading.Condition()
        self.opened = 0

    def sleep(self, seconds: float) -> None:
        with self.cond:
            self.sleepers += 1
            self.entered += 1
            self.cond.notify_all()
            ticket = self.opened
            while self.opened == ticket:
                self.cond.wait()
            self.sleepers -= 1
        # The test moved the clock past the window's reset before opening.

    def wait_sleepers(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.sleepers >= n, timeout=10)

    def wait_entered(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.entered >= n, timeout=10)

    def open(self, to: float) -> None:
        with self.cond:
            self.now = to
            self.opened += 1
            self.cond.notify_all()


def test_provisioning_goes_first_when_both_wait_on_one_limiter():
    clock = GateClock()
    limiter = RateLimiter(per_minute=1, clock=clock, sleep=clock.sleep)
    limiter.before_request()  # the window's one request is spent
    start = clock.now
    done = []

    def background():
        limiter.yield_to_foreground()
        done.append(("background", clock.now, limiter._sent))

    bg = threading.Thread(target=background)
    bg.start()
    clock.wait_sleepers(1)  # background waits for the reset

    def foreground():
        limiter.before_request()
        done.append(("foreground", clock.now, limiter._sent))

    fg = threading.Thread(target=foreground)
    fg.start()
    clock.wait_sleepers(2)  # and provisioning too, holding the limiter
    clock.open(start + 60 + RESET_MARGIN_SECONDS)
    fg.join(10)
    assert done == [("foreground", start + 60 + RESET_MARGIN_SECONDS, 1)]
    # The new window's one request went to provisioning: background waits for the next one
    # (its second sleep, the third of the test).
    clock.wait_entered(3)
    assert bg.is_alive()
    clock.open(start + 120 + 2 * RESET_MARGIN_SECONDS)
    bg.join(10)
    assert done[1][0] == "background"
    assert len(limiter.background_waits) == 2


def test_background_stands_back_while_provisioning_waits_on_another_client():
    """Provisioning and the panel sync use clients of their own: a provisioning call waiting
    on its limiter holds back the background calls of every client of the process."""
    clock = GateClock()
    provisioning = RateLimiter(per_minute=1, clock=clock, sleep=clock.sleep)
    background = RateLimiter(per_minute=240, clock=clock, sleep=clock.sleep)
    provisioning.before_request()
    fg = threading.Thread(target=provisioning.before_request)
    fg.start()
    clock.wait_sleepers(1)
    assert FOREGROUND_WAITING.count == 1
    released = threading.Event()

    def bg_call():
        background.yield_to_foreground()
        released.set()

    bg = threading.Thread(target=bg_call)
    bg.start()
    assert not released.wait(0.3)  # its own window is empty, and still it waits
    clock.open(clock.now + 61)
    fg.join(10)
    bg.join(10)
    assert released.is_set() and FOREGROUND_WAITING.count == 0
    assert provisioning._sent == 1  # provisioning's call was counted before background went


def test_background_keeps_the_reserve_of_the_window_for_provisioning():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=8, clock=clock, sleep=clock.sleep)
    for _ in range(6):  # 2 left: the reserve (a quarter of 8)
        limiter.before_request()
    start = clock.now
    limiter.yield_to_foreground()  # waits for the next window
    assert clock.now == start + 60 + RESET_MARGIN_SECONDS
    assert limiter.background_waits == [60 + RESET_MARGIN_SECONDS]


# --- one scan at a time, and what the scan finds ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_panel_scan_at_a_time_across_workers(catalog, settings):
    settings.DUTY_LEASE_SECONDS = 5
    running = 0
    most = 0
    runs = 0
    lock = threading.Lock()

    def scan():
        nonlocal running, most, runs
        with lock:
            running += 1
            runs += 1
            most = max(most, running)
        try:
            return duties.panel_sync_duty()
        finally:
            with lock:
                running -= 1

    duty = Duty("panel_sync", "PANEL_SYNC_INTERVAL_SECONDS", scan)
    a, b = Scheduler([duty], owner="worker-a"), Scheduler([duty], owner="worker-b")
    a.start(poll_seconds=0.05)
    b.start(poll_seconds=0.05)
    deadline = threading.Event()
    for _ in range(100):
        row = DutyLease.objects.filter(name="panel_sync").first()
        if row is not None and row.last_finished_at is not None:
            break
        deadline.wait(0.1)
    deadline.wait(0.5)  # both schedulers polled many times after the run
    assert a.stop(timeout=10) and b.stop(timeout=10)
    row = DutyLease.objects.get(name="panel_sync")
    assert (runs, most, row.runs, row.last_error) == (1, 1, 1, "")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["server", "listing"])
def test_paced_sync_finds_a_server_deleted_by_hand(
    mode, catalog, stripe_sandbox, customer, monkeypatch
):
    _, client = customer
    orders = [_provisioned(client, stripe_sandbox) for _ in range(3)]
    gone = orders[1]
    del catalog.state.servers[gone.ptero_server_id]  # deleted in the panel by hand
    monkeypatch.setattr(panel_scan, "LISTING_PER_PAGE", 1)  # several pages for three servers
    monkeypatch.setattr(panel_scan, "listing_cheaper", lambda **kw: mode == "listing")
    catalog.reset_counters()

    with duties.background_client() as panel:
        report = panel_scan.panel_scan(client=panel)
    assert report.vanished_mode == mode
    assert report.checks.vanished_alerts == [gone.pk]
    assert list(Alert.objects.values_list("order_id", flat=True)) == [gone.pk]
    assert sorted(report.checks.installed) == [orders[0].pk, orders[2].pk]  # the gone one: no
    counters = catalog.counters()
    if mode == "listing":
        # A page per server; the missing one confirmed by id (a 404), never listed twice.
        assert report.listing_pages >= 2 and report.confirmed == 1
        assert counters["GET /api/application/servers"] == report.listing_pages
    with duties.background_client() as panel:
        assert panel_scan.panel_scan(client=panel).checks.vanished_alerts == []  # once
