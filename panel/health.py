"""The panel's readiness check (``/readyz``): one cheap call proves the URL and key work.
Registered in PanelConfig.ready(); the report and its order are core's (core/health.py)."""

from __future__ import annotations

import threading
import time

from django.conf import settings

from core.health import READINESS_CHECKS, Check
from panel.client import PanelClient
from panel.errors import PanelError


class _PanelProbe:
    """One cheap panel call (``GET /locations``), remembered for READY_PANEL_CACHE_SECONDS so
    probes every few seconds cost the rate limit almost nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._result: Check | None = None
        self._at = 0.0

    def __call__(self) -> Check:
        with self._lock:
            now = time.monotonic()
            if self._result is not None and now - self._at < settings.READY_PANEL_CACHE_SECONDS:
                return self._result
            self._result = self._probe()
            self._at = now
            return self._result

    def clear(self) -> None:
        with self._lock:
            self._result = None

    @staticmethod
    def _probe() -> Check:
        timeout = settings.READY_PANEL_TIMEOUT_SECONDS
        try:
            with PanelClient.from_settings(timeout=timeout, create_timeout=timeout) as client:
                client.locations_list()
        except PanelError as exc:
            return Check("panel", False, f"{type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # secrets unreadable, ...: still an answer, never a 500
            return Check("panel", False, f"{type(exc).__name__}")
        return Check("panel", True, "reachable")


check_panel = _PanelProbe()


def register() -> None:
    READINESS_CHECKS.register("panel", check_panel)
