from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.sync import catalog_sync
from panel.client import PanelClient
from panel.errors import PanelError


class Command(BaseCommand):
    help = "Copy eggs, nodes and allocations from the panel into the catalogue."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with PanelClient.from_settings() as client:
                report = catalog_sync(client=client)
        except PanelError as exc:
            raise CommandError(f"Panel sync failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Synced {report}"))
