"""Client-side pacing under the panel's rate limit (reference §3.4, §7.7).

The panel counts every Application API request of one admin user in a **fixed 60-second
window that starts at the first request** and answers 429 once the limit (240 by default) is
used up. ``RateLimiter`` keeps this process under it:

* it counts its own requests in its window (the window starts at its first request) and never
  sends more than ``per_minute`` (``PANEL_RATE_LIMIT_PER_MINUTE``) in one;
* it reads ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` on every answer, so requests made
  by *other* processes with the same key are counted too; when the remaining budget reaches
  zero it sleeps until the window resets (plus a small margin for the first request's trip);
* a Remaining that goes *up* means the panel started a new window: it re-anchors there.

Across processes this is approximate: two workers that both see ``Remaining: 1`` may both
send, and one gets a 429 (retried after ``Retry-After`` by provisioning). A process's window
starts at its own first request, which is never earlier than the panel's, so a process that
found the budget spent by others waits at least until the panel's reset. To share a key among
many workers with no 429 at all, give each ``PANEL_RATE_LIMIT_PER_MINUTE`` = limit / workers.

Background calls (the panel sync duty, paced by core/panel_budget.py) go after provisioning
and customer calls: before each one, ``yield_to_foreground`` waits while any foreground call of
this process waits on a limiter, and while this window has no more than
``BACKGROUND_RESERVE_SHARE`` of the limit left (kept for foreground calls, of this process or
of others sharing the key: the panel's Remaining counts theirs).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("panel.client")

WINDOW_SECONDS = 60.0
# The panel's window starts when our first request *arrives*; wait this much past our own
# estimate so the first request of the next window never lands in the old one.
RESET_MARGIN_SECONDS = 0.5
# Background calls never take the last quarter of a window: it stays for provisioning.
BACKGROUND_RESERVE_SHARE = 0.25


class _ForegroundWaiters:
    """How many foreground calls of this process wait on any limiter right now."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def enter(self) -> None:
        with self.changed:
            self.count += 1

    def leave(self) -> None:
        with self.changed:
            self.count -= 1
            self.changed.notify_all()

    def wait_none(self) -> None:
        with self.changed:
            while self.count > 0:
                self.changed.wait(1.0)


FOREGROUND_WAITING = _ForegroundWaiters()


class RateLimiter:
    """Thread-safe; one per PanelClient. ``clock``/``sleep`` are injectable for tests."""

    def __init__(
        self,
        *,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.waits: list[float] = []  # every wait, in seconds (for tests and the bench)
        self.background_waits: list[float] = []  # background calls standing back
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._sent = 0  # our requests in the current window
        self._remaining: int | None = None  # the panel's Remaining, minus what we sent since
        self._limit: int | None = None

    def before_request(self) -> None:
        """Block until one more request fits in the window, then count it. A call that has to
        wait is registered as a waiting foreground call until it is counted, so background
        calls of this process stand back (``yield_to_foreground``)."""
        with self._lock:
            now = self.clock()
            if self._window_start is None or now >= self._window_start + WINDOW_SECONDS:
                self._new_window(now)
            if self._budget() > 0:
                self._count()
                return
            FOREGROUND_WAITING.enter()
            try:
                self._wait_for_reset(now)
                self._count()
            finally:
                FOREGROUND_WAITING.leave()

    def yield_to_foreground(self, *, sleep: Callable[[float], None] | None = None) -> None:
        """Background calls only, before ``before_request``: return once no foreground call of
        this process waits on a limiter and the window keeps its reserve for them. ``sleep``
        waits for the window's reset (the duty's stop-aware sleep)."""
        sleep = sleep or self.sleep
        while True:
            FOREGROUND_WAITING.wait_none()
            with self._lock:  # held by a foreground call sleeping here: it goes first
                now = self.clock()
                if self._window_start is None or now >= self._window_start + WINDOW_SECONDS:
                    self._new_window(now)
                if self._budget() > int(self._cap() * BACKGROUND_RESERVE_SHARE):
                    return
                assert self._window_start is not None
                wait = self._window_start + WINDOW_SECONDS + RESET_MARGIN_SECONDS - now
            self.background_waits.append(wait)
            sleep(max(wait, 0.01))

    def _count(self) -> None:
        self._sent += 1
        if self._remaining is not None:
            self._remaining -= 1

    def _wait_for_reset(self, now: float) -> None:
        assert self._window_start is not None
        wait = self._window_start + WINDOW_SECONDS + RESET_MARGIN_SECONDS - now
        if wait > 0:
            logger.info(
                "panel rate limit reached (%s sent, limit %s): waiting %.1fs for the "
                "window to reset",
                self._sent,
                self._cap(),
                wait,
            )
            self.waits.append(wait)
            # Holding the lock on purpose: this client's other threads wait too.
            self.sleep(wait)
        self._new_window(self.clock())

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        """Record the headers of an answer to a request counted by ``before_request``."""
        with self._lock:
            if limit is not None and limit > 0:
                self._limit = limit
            if remaining is None:
                return
            if self._remaining is not None and remaining > self._remaining + 1:
                # More budget than we thought: the panel's window reset (it started with one
                # of our requests, just now).
                self._window_start = self.clock()
                self._sent = 1
            self._remaining = remaining

    def _cap(self) -> int:
        return min(self.per_minute, self._limit) if self._limit else self.per_minute

    def _budget(self) -> int:
        budget = self._cap() - self._sent
        if self._remaining is not None:
            budget = min(budget, self._remaining)
        return budget

    def _new_window(self, now: float) -> None:
        self._window_start = now
        self._sent = 0
        self._remaining = None
