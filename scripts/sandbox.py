#!/usr/bin/env python
"""Start one sandbox for `make run` with its keys read from the environment.

`python scripts/sandbox.py panel|stripe [non-secret options]`: the keys (PANEL_SANDBOX_APP_KEY,
PANEL_SANDBOX_CLIENT_KEY, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, from `.env`) are handed to
the sandbox's own command-line parser inside this process, so they never appear in a process's
command line (`ps`, /proc/<pid>/cmdline), and they are masked in what the sandbox prints.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEYS = {
    "panel": [("--app-key", "PANEL_SANDBOX_APP_KEY"), ("--client-key", "PANEL_SANDBOX_CLIENT_KEY")],
    "stripe": [("--api-key", "STRIPE_SECRET_KEY"), ("--webhook-secret", "STRIPE_WEBHOOK_SECRET")],
}


class Masked:
    """A text stream that replaces the given secrets before writing."""

    def __init__(self, stream: TextIO, secrets: list[str]) -> None:
        self._stream = stream
        self._secrets = [s for s in secrets if s]

    def write(self, text: str) -> int:
        for secret in self._secrets:
            text = text.replace(secret, "<in .env>")
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in KEYS:
        print("usage: sandbox.py panel|stripe [options]", file=sys.stderr)
        return 2
    which, rest = argv[0], list(argv[1:])
    secrets = []
    for option, variable in KEYS[which]:
        value = os.environ.get(variable, "")
        if not value:
            print(f"{variable} is not set (make run writes it to .env)", file=sys.stderr)
            return 2
        rest += [option, value]
        secrets.append(value)
    sys.stdout = Masked(sys.stdout, secrets)  # type: ignore[assignment]
    sys.stderr = Masked(sys.stderr, secrets)  # type: ignore[assignment]
    run: Callable[[list[str]], int]
    if which == "panel":
        from sandbox.panel.__main__ import main as run
    else:
        from sandbox.stripe.__main__ import main as run
    return run(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
