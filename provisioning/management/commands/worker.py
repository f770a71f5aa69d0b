"""`manage.py worker`: the background worker. Two loops in one process:

* the duty scheduler (core/duties.py), one thread per periodic duty (heartbeat, reconciler,
  billing scan, panel sync), each run under its database lease by one worker per interval;
* django-tasks-db's `db_worker` loop in the main thread (provisioning, billing syncs), so no
  duty, however long, holds up a task queued behind it.

Any db_worker option may follow `--` (e.g. `manage.py worker -- --interval 1`). SIGTERM or
Ctrl-C: db_worker finishes its current task, then the duty threads finish their current run
(at most DUTY_LEASE_SECONDS is waited; an unfinished duty's lease simply runs out).
`--once` runs one scheduler pass and exits (scripts, tests); `--no-duties` runs tasks only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from core.duties import Scheduler
from provisioning.duties import DUTIES


class Command(BaseCommand):
    help = "Run the worker: duty scheduler + db_worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one scheduler pass, then exit")
        parser.add_argument(
            "--no-duties", action="store_true", help="run tasks only, no periodic duties"
        )
        parser.add_argument("db_worker_args", nargs="*", help="passed to db_worker")

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = Scheduler(DUTIES)
        if options["once"]:
            ran = scheduler.run_once()
            self.stdout.write(f"ran: {', '.join(ran) or 'nothing due'}")
            return
        if not options["no_duties"]:
            scheduler.start()
        try:
            call_command("db_worker", *options["db_worker_args"])
        finally:
            scheduler.stop(timeout=float(settings.DUTY_LEASE_SECONDS))
