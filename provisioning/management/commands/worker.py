"""`manage.py worker`: the background worker. It queues the periodic tick (heartbeat,
reconciler, panel sync) if none is queued, then runs django-tasks-db's `db_worker` loop.
Any db_worker option may follow (e.g. `--interval 1`)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from provisioning.ticks import tick_ensure


class Command(BaseCommand):
    help = "Run the worker: periodic tick + db_worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("db_worker_args", nargs="*", help="passed to db_worker")

    def handle(self, *args: Any, **options: Any) -> None:
        tick_ensure()
        call_command("db_worker", *options["db_worker_args"])
