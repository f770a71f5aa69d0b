"""`manage.py doctor`: one line per check, "ok" or "FAIL: <what to fix>"; exit 1 on failure."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.doctor import doctor_run


class Command(BaseCommand):
    help = "Check that the catalogue, panel, Stripe and secrets are ready to sell."

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for check in doctor_run():
            if check.ok:
                self.stdout.write(f"{self.style.SUCCESS('ok')}    {check.name}")
            for problem in check.problems:
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL: {check.name}: {problem}"))
            for detail in check.details:
                self.stdout.write(f"      {detail}")
        if failed:
            raise CommandError(f"{failed} problem{'s' if failed != 1 else ''} to fix.")
        self.stdout.write(self.style.SUCCESS("All checks passed."))
