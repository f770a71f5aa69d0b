"""Test-only entry point: a real worker (`manage.py worker`) or web process (`runserver`) with
one named fault point armed, so the fault suite can SIGKILL it at an exact line.

    python tests/faults/fault_proc.py worker [db_worker args...]
    python tests/faults/fault_proc.py web 127.0.0.1:PORT

GIVRWRLD_FAULT_POINT names the point; when the process reaches it, it writes
``$GIVRWRLD_FAULT_DIR/<point>.<pid>`` and stops there (the test kills it). Nothing in the
product reads these variables: the points are wrappers this file installs around product
functions before the command starts. With GIVRWRLD_DUTY_LOG set, every duty run is appended to
that file as a JSON line (pid, duty, lease start from the database, end), for the
"never two in one interval" check across processes.

Points: duty:<name>:start (lease taken, nothing done), duty:<name>:end (work done, lease not
yet released), duty:reconcile:mid, duty:panel_sync:mid (its first panel call answered);
provision:claimed (claimed, attempt row written, no panel call yet), provision:created (the
panel made the server, the order does not know), provision:lookup (a resumed try found the
earlier server); webhook:in_transaction (the order marked paid, not committed),
webhook:after_commit (committed, no answer sent).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "givrwrld.settings_test")

import django  # noqa: E402

django.setup()

POINT = os.environ.get("GIVRWRLD_FAULT_POINT", "")
FAULT_DIR = os.environ.get("GIVRWRLD_FAULT_DIR", "")
DUTY_LOG = os.environ.get("GIVRWRLD_DUTY_LOG", "")


def reached(name: str) -> None:
    """Stop here for good if this is the armed point: the test SIGKILLs us."""
    if name != POINT:
        return
    flag = Path(FAULT_DIR, f"{name}.{os.getpid()}")
    tmp = Path(FAULT_DIR, f".{flag.name}.tmp")
    tmp.write_text(str(time.time()))
    tmp.replace(flag)  # the test never sees a half-written flag
    while True:
        time.sleep(60)


def _log(entry: dict[str, Any]) -> None:
    if DUTY_LOG:
        with open(DUTY_LOG, "a") as f:  # one short write per line: atomic with O_APPEND
            f.write(json.dumps(entry) + "\n")


def _around(owner: Any, attr: str, *, before: str = "", after: str = "") -> None:
    original = getattr(owner, attr)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            reached(before)
        result = original(*args, **kwargs)
        if after:
            reached(after)
        return result

    setattr(owner, attr, wrapper)


def arm_worker() -> None:
    from core.models import DutyLease
    from panel.client import PanelClient
    from provisioning import duties, reconcile, services

    def wrap(duty: Any) -> Any:
        def run() -> object:
            row = DutyLease.objects.get(name=duty.name)
            started = row.last_started_at.timestamp()
            _log({"pid": os.getpid(), "duty": duty.name, "start": started})
            reached(f"duty:{duty.name}:start")
            result = duty.run()
            reached(f"duty:{duty.name}:end")
            _log({"pid": os.getpid(), "duty": duty.name, "start": started, "end": time.time()})
            return result

        return dataclasses.replace(duty, run=run)

    duties.DUTIES[:] = [wrap(d) for d in duties.DUTIES]
    _around(reconcile, "_requeue_paid", before="duty:reconcile:mid")
    # Mid panel sync: its first panel listing answered (under 30 % faults a whole sync of
    # many calls rarely gets through, so a point after it would seldom be reached).
    _around(PanelClient, "nests_list", after="duty:panel_sync:mid")
    _around(services, "panel_user_ensure", before="provision:claimed")
    _around(PanelClient, "server_create", after="provision:created")
    original_lookup = PanelClient.server_get_by_external_id

    def lookup(self: PanelClient, **kwargs: Any) -> Any:
        found = original_lookup(self, **kwargs)
        if found is not None:
            reached("provision:lookup")
        return found

    PanelClient.server_get_by_external_id = lookup  # type: ignore[method-assign]


def arm_web() -> None:
    from billing import webhooks

    _around(webhooks, "_handle", after="webhook:in_transaction")
    _around(webhooks, "stripe_event_process", after="webhook:after_commit")


def main() -> None:
    from django.core.management import call_command

    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "worker":
        arm_worker()
        call_command("worker", *args)
    elif mode == "web":
        arm_web()
        call_command("runserver", args[0], use_reloader=False, skip_checks=True)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
