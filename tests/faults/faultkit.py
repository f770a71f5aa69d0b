"""Helpers for the fault suite: bulk paid orders, real worker processes, invariant checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.db import connection

from billing.models import Order
from catalog.models import Plan
from catalog.sync import catalog_sync
from panel.client import PanelClient

ROOT = Path(__file__).resolve().parents[2]


def widen_inventory(sb: Any, *, ports: str = "30000-30599") -> None:
    """Give every sandbox node many more ports and memory, lift the rate limit, let every plan
    use any port, and re-sync: bulk tests need room for hundreds of servers."""
    sb.faults.rate_limit = 1_000_000
    with httpx.Client(
        base_url=sb.url,
        headers={"Authorization": f"Bearer {sb.app_key}", "Accept": "application/json"},
    ) as http:
        for node_id, ip in ((1, "203.0.113.10"), (2, "203.0.113.20"), (3, "198.51.100.10")):
            low, high = (int(p) for p in ports.split("-"))
            for start in range(low, high + 1, 1000):
                end = min(start + 999, high)
                r = http.post(
                    f"/api/application/nodes/{node_id}/allocations",
                    json={"ip": ip, "ports": [f"{start}-{end}"]},
                )
                assert r.status_code == 204, r.text
    for node in sb.state.nodes.values():  # room for hundreds of servers
        node["memory"], node["disk"] = 4_000_000, 40_000_000
    Plan.objects.update(port_range="")
    with PanelClient.from_settings() as client:
        catalog_sync(client=client)
    sb.reset_counters()


def database_url() -> str:
    """The test database as a DATABASE_URL, for worker subprocesses."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"mysql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 3306}/{s['NAME']}"


def worker_env(**overrides: Any) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "givrwrld.settings_test",
            "DATABASE_URL": database_url(),
            "AES_KEY": settings.AES_KEY,
            "PROVISION_BACKOFF_BASE_SECONDS": "0",
            "PROVISION_BACKOFF_MAX_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def spawn_worker(*, batch: bool = True, **env: Any) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        str(ROOT / "manage.py"),
        "db_worker",
        "--interval",
        "0.05",
        "--no-startup-delay",
        "--no-reload",
    ]
    if batch:
        cmd.append("--batch")
    return subprocess.Popen(
        cmd, env=worker_env(**env), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def paid_orders(client: Any, stripe_sandbox: Any, count: int, **checkout_body: Any) -> list[dict]:
    """`count` checkouts, each completed in the Stripe sandbox WITHOUT delivering the webhook.
    Returns the checkout.session.completed events, for the test to deliver as it likes."""
    events = []
    for i in range(count):
        body = {"plan": "minecraft-2gb", "region": "us-east", "server_name": f"srv-{i}"}
        body.update(checkout_body)
        r = client.post(
            "/api/checkout/session", data=json.dumps(body), content_type="application/json"
        )
        assert r.status_code == 201, r.content
        order = Order.objects.get(pk=r.json()["order_id"])
        events.append(stripe_sandbox.complete_session(order.stripe_session_id, deliver=False))
    return events


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def assert_exactly_one_server_per_order(sb: Any, orders: list[Order]) -> None:
    """Invariant 1, checked against the panel itself."""
    by_external = Counter(s["external_id"] for s in sb.state.servers.values())
    ours = {o.panel_external_id for o in orders}
    duplicates = {ext: n for ext, n in by_external.items() if n > 1}
    assert duplicates == {}, f"duplicate servers: {duplicates}"
    strays = [ext for ext in by_external if ext not in ours]
    assert strays == [], f"servers without an order: {strays}"
    for order in orders:
        order.refresh_from_db()
        assert order.status == "provisioned", (order.pk, order.status, order.error_message)
        server = sb.state.servers[order.ptero_server_id]
        assert server["external_id"] == order.panel_external_id
    assert len(sb.state.servers) == len(orders)


# Shortened duty intervals for the fault suite: production runs 15/60/60/600 s with 60 s leases.
# The lease is longer than the intervals: on SQLite one transaction holds the database's only
# write lock, and one that spans panel calls (a panel user's creation under its row lock)
# can hold back a lease renewal for seconds; a renewal every 2 s of a 6 s lease rides that out.
FAST_DUTIES = {
    "HEARTBEAT_INTERVAL_SECONDS": 2,
    "RECONCILE_INTERVAL_SECONDS": 4,
    "BILLING_SCAN_INTERVAL_SECONDS": 4,
    "PANEL_SYNC_INTERVAL_SECONDS": 4,
    "DUTY_LEASE_SECONDS": 6,
    "DUTY_POLL_SECONDS": 0.2,
}


def spawn_duty_worker(
    *, point: str = "", fault_dir: Path | None = None, **env: Any
) -> subprocess.Popen[bytes]:
    """`manage.py worker` (scheduler + db_worker) as a real process, through
    tests/faults/fault_proc.py so a fault point may be armed. Fast duty intervals unless
    overridden. stderr goes to a file (a pipe nobody reads would fill and block the worker)."""
    settings_env = {**FAST_DUTIES, "PANEL_RATE_LIMIT_PER_MINUTE": 100_000, **env}
    if point:
        assert fault_dir is not None
        settings_env.update(GIVRWRLD_FAULT_POINT=point, GIVRWRLD_FAULT_DIR=str(fault_dir))
    cmd = [
        sys.executable,
        str(ROOT / "tests" / "faults" / "fault_proc.py"),
        "worker",
        "--",
        "--interval",
        "0.05",
        "--no-startup-delay",
        "--no-reload",
    ]
    log = open(ROOT / "var" / f"fault-worker-{os.getpid()}.log", "ab")
    return subprocess.Popen(
        cmd, env=worker_env(**settings_env), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
    )


def spawn_web(*, port: int, point: str = "", fault_dir: Path | None = None, **env: Any) -> Any:
    """The web process (Django's server, single process) with a fault point armed."""
    extra: dict[str, Any] = dict(env)
    if point:
        assert fault_dir is not None
        extra.update(GIVRWRLD_FAULT_POINT=point, GIVRWRLD_FAULT_DIR=str(fault_dir))
    cmd = [
        sys.executable,
        str(ROOT / "tests" / "faults" / "fault_proc.py"),
        "web",
        f"127.0.0.1:{port}",
    ]
    return subprocess.Popen(
        cmd,
        env=worker_env(**extra),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
