"""`manage.py secrets set|get|list|delete|rotate`: the encrypted secrets table.

`list` prints names only, never values. `set` reads the value from the argument or, with `-`,
from standard input (so it stays out of shell history). `rotate` re-encrypts every secret
under the configured AES_KEY; the old key comes from a file (`--old-key-file`, `-` for
standard input) or the environment (OLD_AES_KEY), never from the command line
(docs/deploy.md, "Rotating AES_KEY").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ConfigurationError
from core.secrets import secret_delete, secret_get, secret_names, secret_set, secrets_rotate


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
        p_rot = sub.add_parser(
            "rotate", help="re-encrypt every secret under AES_KEY (old key: file or OLD_AES_KEY)"
        )
        p_rot.add_argument(
            "--old-key-file",
            help="file holding the old key ('-' reads standard input); else env OLD_AES_KEY",
        )

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
            elif action == "rotate":
                result = secrets_rotate(old_key=self._old_key(options.get("old_key_file")))
                self.stdout.write(
                    f"re-encrypted {result.rotated} secret(s) under the new AES_KEY"
                    + (
                        f"; {result.already_current} already under it"
                        if result.already_current
                        else ""
                    )
                )
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc

    def _old_key(self, path: str | None) -> str:
        if path == "-":
            return sys.stdin.read()
        if path:
            try:
                return Path(path).read_text()
            except OSError as exc:
                raise CommandError(f"cannot read the old key file: {exc.strerror}") from exc
        value = os.environ.get("OLD_AES_KEY", "")
        if not value.strip():
            raise CommandError("Give the old key with --old-key-file PATH or env OLD_AES_KEY.")
        return value
