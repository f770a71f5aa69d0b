"""`manage.py doctor`: one line per check, "ok", "WARN: <what to look at>" or
"FAIL: <what to fix>"; exit 1 on a failure (warnings alone exit 0)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.doctor import doctor_run


class Command(BaseCommand):
    help = "Check that the catalogue, panel, Stripe and secrets are ready to sell."

    def handle(self, *args: Any, **options: Any) -> None:
        failed = warned = 0
        for check in doctor_run():
            for warning in check.warnings:
                warned += 1
                self.stdout.write(self.style.WARNING(f"WARN: {check.name}: {warning}"))
            if check.ok and not check.warnings:
                self.stdout.write(f"{self.style.SUCCESS('ok')}    {check.name}")
            for problem in check.problems:
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL: {check.name}: {problem}"))
            for detail in check.details:
                self.stdout.write(f"      {detail}")
        if failed:
            raise CommandError(f"{failed} problem{'s' if failed != 1 else ''} to fix.")
        if warned:
            plural = "s" if warned != 1 else ""
            self.stdout.write(self.style.SUCCESS(f"All checks passed, {warned} warning{plural}."))
        else:
            self.stdout.write(self.style.SUCCESS("All checks passed."))
