"""One budget of background panel calls for all workers, kept in the database.

The panel allows PANEL_RATE_LIMIT_PER_MINUTE Application API requests a minute per key, for
provisioning, customer actions and background work together. Background work (the panel sync
duty: catalogue, install watch, vanished-server check) may spend PANEL_BACKGROUND_SHARE of it,
spread evenly: one call every

    spacing = 60 / (limit x share) x 1.02 seconds   (240 x 5 % -> one call every 5.1 s)

Each background call takes the next slot of the `panel_budgets` row under its row lock:

    slot = max(now, next_at); next_at = slot + spacing

then sleeps until its slot. The row is shared by every process on every machine, so all of
them together send at most one background call per spacing, and at most
ceil(60 / spacing) (12 at the defaults) in any 60-second window. Nothing accumulates while
background work is idle (there is no bucket to save up), so there are no bursts. A call that
left later than its slot (it yielded to provisioning first: panel/throttle.py) pushes next_at
on from the moment it actually left, so a late call never sits closer than one spacing to the
next. Times are epoch seconds of each worker's clock (run NTP; spacings are seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from core.models import PanelBudget

BACKGROUND = "panel_background"

# Replaced by bench/fleet_bench.py with a simulated clock; everything here reads them at call
# time. `sleep` is stop-aware in a duty (core.duties.duty_wait).
clock: Callable[[], float] = time.time


def _default_sleep(seconds: float) -> None:
    from core.duties import duty_wait

    duty_wait(seconds)


sleep: Callable[[float], None] = _default_sleep


def background_calls_per_minute() -> float:
    return float(settings.PANEL_RATE_LIMIT_PER_MINUTE) * float(settings.PANEL_BACKGROUND_SHARE)


# 2 % over the exact 60 / budget, so a call sent a few milliseconds after its slot (thread
# scheduling between the slot and the socket) can never make the 60-s windows hold one more.
SPACING_MARGIN = 1.02


def background_spacing() -> float:
    """Seconds between two background calls of all workers together."""
    return 60.0 / background_calls_per_minute() * SPACING_MARGIN


def _ensure(name: str) -> None:
    if PanelBudget.objects.filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            PanelBudget.objects.create(name=name)
    except IntegrityError:
        pass  # a concurrent creator won


def budget_slot_take(*, name: str = BACKGROUND, spacing: float | None = None) -> float:
    """Reserve the next background slot; returns its time (epoch seconds). Does not sleep."""
    spacing = background_spacing() if spacing is None else spacing
    _ensure(name)
    with transaction.atomic():
        # Lock first, then read the clock (a worker that waited for the lock must not take a
        # slot in the past it could no longer use).
        next_at = (
            PanelBudget.objects.select_for_update()
            .filter(name=name)
            .values_list("next_at", flat=True)
        )[0]
        now = clock()
        slot = max(now, next_at)
        PanelBudget.objects.filter(name=name).update(next_at=slot + spacing, calls=F("calls") + 1)
    return slot


def budget_slot_left(*, name: str = BACKGROUND, slot: float, spacing: float | None = None) -> None:
    """The call of `slot` leaves now: if that is later than its slot, the next slot is at least
    one spacing from now (so a late call and the next one never bunch)."""
    spacing = background_spacing() if spacing is None else spacing
    now = clock()
    if now > slot:
        PanelBudget.objects.filter(name=name, next_at__lt=now + spacing).update(
            next_at=now + spacing
        )


def background_pacer(
    throttle: object | None = None, *, name: str = BACKGROUND
) -> Callable[[], None]:
    """The `pace` hook of a background PanelClient (panel/client.py): before each Application
    API call, wait for a slot of the shared budget, then let any waiting provisioning call of
    this process go first and keep the window's reserve for them (panel/throttle.py)."""

    def pace() -> None:
        slot = budget_slot_take(name=name)
        wait = slot - clock()
        if wait > 0:
            sleep(wait)
        yield_to_foreground = getattr(throttle, "yield_to_foreground", None)
        if yield_to_foreground is not None:
            yield_to_foreground(sleep=sleep)
        budget_slot_left(name=name, slot=slot)

    return pace
