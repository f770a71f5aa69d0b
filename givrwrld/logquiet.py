"""A quiet log by default: routine lines that say nothing happened are dropped.

The worker's periodic tick runs every WORKER_TICK_SECONDS; django-tasks logs two lines for each
run ("Task ... worker_tick state=RUNNING" / "SUCCESSFUL") and the reconciler one report, all
zeros when there was nothing to do. Those go; a failed tick (logged at ERROR), a reconcile that
did something, and everything else stay. LOG_ROUTINE=1 keeps them all.
"""

from __future__ import annotations

import logging
import re

_TICK_PATH = "path=provisioning.tasks.worker_tick "
_NONZERO = re.compile(r"\b[1-9]\d*\b")


class RoutineFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        if record.name == "django_tasks":
            message = record.getMessage()
            return not (_TICK_PATH in message and ("RUNNING" in message or "SUCCESSFUL" in message))
        if record.name == "provisioning.reconcile":
            message = record.getMessage()
            if message.startswith("Reconcile: ") and not _NONZERO.search(message):
                return False
        return True
