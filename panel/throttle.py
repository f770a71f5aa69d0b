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
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._sent = 0  # our requests in the current window
        self._remaining: int | None = None  # the panel's Remaining, minus what we sent since
        self._limit: int | None = None

    def before_request(self) -> None:
        """Block until one more request fits in the window, then count it."""
        with self._lock:
            now = self.clock()
            if self._window_start is None or now >= self._window_start + WINDOW_SECONDS:
                self._new_window(now)
            if self._budget() <= 0:
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
            self._sent += 1
            if self._remaining is not None:
                self._remaining -= 1

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
