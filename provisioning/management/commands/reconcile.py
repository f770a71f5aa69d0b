from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from provisioning.reconcile import reconcile


class Command(BaseCommand):
    help = "Resume stuck orders, find missed payments, and check provisioned servers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-panel", action="store_true", help="skip the panel checks")

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile(panel_checks=not options["no_panel"])
        self.stdout.write(str(report))
        for problem in report.problems:
            self.stderr.write(problem)
