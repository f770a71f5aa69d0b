"""`manage.py secrets set|get|list|delete`: the encrypted secrets table.

`list` prints names only, never values. `set` reads the value from the argument or, with `-`,
from standard input (so it stays out of shell history).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ConfigurationError
from core.secrets import secret_delete, secret_get, secret_names, secret_set


class Command(BaseCommand):
    help = "Manage encrypted secrets (panel.PANEL_URL, panel.PANEL_APP_KEY, ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p_set = sub.add_parser("set", help="store a secret (value '-' reads standard input)")
        p_set.add_argument("name")
        p_set.add_argument("value")
        p_get = sub.add_parser("get", help="print one secret's value")
        p_get.add_argument("name")
        sub.add_parser("list", help="list secret names (never values)")
        p_del = sub.add_parser("delete", help="remove a secret")
        p_del.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "set":
                value = options["value"]
                if value == "-":
                    value = sys.stdin.read().strip()
                secret_set(name=options["name"], value=value)
                self.stdout.write(f"stored {options['name']}")
            elif action == "get":
                found = secret_get(options["name"])
                if found is None:
                    raise CommandError(f"no secret named {options['name']!r}")
                self.stdout.write(found)
            elif action == "list":
                for name in secret_names():
                    self.stdout.write(name)
            elif action == "delete":
                if not secret_delete(name=options["name"]):
                    raise CommandError(f"no secret named {options['name']!r}")
                self.stdout.write(f"deleted {options['name']}")
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
