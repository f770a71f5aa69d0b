"""Shared by the bench scripts: environment, the bench database, seeding, signed events,
and a small asyncio HTTP load generator (loopback only, bounded in count and time)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/givrwrld_bench")
ENV = {
    "GIVRWRLD_SKIP_DOTENV": "1",
    "DJANGO_SETTINGS_MODULE": "givrwrld.settings",
    "DATABASE_URL": DB_URL,
    "DEBUG": "0",
    # Plain HTTP on loopback (production's HTTPS redirect is on by default with DEBUG off).
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "SECRET_KEY": "bench-secret-key-not-for-production",
    "AES_KEY": base64.b64encode(b"b" * 32).decode(),
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_WEBHOOK_SECRET": "whsec_bench_secret",
    "INTERNAL_API_TOKEN": "bench-internal",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SANDBOX_ALLOWED": "1",
    "BENCH_FLOOR_VIEW": "1",
    "LOG_LEVEL": "WARNING",
    "PROVISION_BACKOFF_BASE_SECONDS": "0.5",
}
os.environ.update({k: v for k, v in ENV.items() if k not in os.environ or k == "DATABASE_URL"})


def db_create() -> None:
    """(Re)create the bench database and migrate it."""
    import dj_database_url

    cfg = dj_database_url.parse(DB_URL)
    import MySQLdb

    conn = MySQLdb.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=int(cfg["PORT"] or 3306),
        user=cfg["USER"],
        passwd=cfg["PASSWORD"] or "",
    )
    cur = conn.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS `{cfg['NAME']}`")
    cur.execute(f"CREATE DATABASE `{cfg['NAME']}` CHARACTER SET utf8mb4")
    conn.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_seed(ports: int = 2000) -> dict[str, Any]:
    """The demo panel seed with roomy nodes and `ports` ports per node."""
    seed = json.loads((ROOT / "sandbox/panel/seed/demo.json").read_text())
    for node in seed["nodes"]:
        node["memory"] = 100_000_000
        node["disk"] = 1_000_000_000
    for alloc in seed["allocations"]:
        alloc["ports"] = [f"25565-{25565 + ports - 1}"]  # Minecraft plans take 25565 up
    return seed


def panel_start(*, clock: Any = None, rate_limit: int = 240, ports: int = 2000) -> Any:
    """A panel sandbox on loopback, its URL/keys in the secrets table, catalogue synced;
    `ports` ports per node (bench_seed)."""
    from catalog.services import catalog_load_demo
    from catalog.sync import catalog_sync
    from core.secrets import secret_set
    from panel.client import PanelClient
    from sandbox.panel import PanelSandbox

    sb = PanelSandbox(bench_seed(ports), clock=clock)
    sb.faults.rate_limit = 100_000
    sb.url = sb.serve()
    secret_set(name="panel.PANEL_URL", value=sb.url)
    secret_set(name="panel.PANEL_APP_KEY", value=sb.app_key)
    with PanelClient(sb.url, sb.app_key) as client:
        catalog_sync(client=client)
    catalog_load_demo()
    from catalog.models import Plan

    Plan.objects.update(port_range="")  # the bench's nodes have thousands of ports
    sb.faults.rate_limit = rate_limit
    sb.reset_counters()
    return sb


def orders_seed(n: int, *, customers: int = 1, reserve: bool = False, tag: str = "o") -> list[int]:
    """n pending orders with a Checkout Session id, spread over `customers` customers."""
    from accounts.models import User
    from catalog.models import Plan, Region

    plan = Plan.objects.get(slug="minecraft-2gb")
    region = Region.objects.get(slug="us-east")
    users = [
        User.objects.get_or_create(
            email=f"bench-{tag}-{i}@example.com", defaults={"first_name": "B", "last_name": "C"}
        )[0]
        for i in range(customers)
    ]
    ids = []
    from django.db import transaction

    for i in range(n):
        with transaction.atomic():
            ids.append(_order_create(users[i % customers], plan, region, tag, i, reserve))
    return ids


def _order_create(user, plan, region, tag, i, reserve):  # type: ignore[no-untyped-def]
    from billing.models import Order
    from catalog.services import allocation_claim

    def create(allocation, extras=None):  # type: ignore[no-untyped-def]
        from billing.ports import order_ports_set

        order = Order.objects.create(
            user=user,
            plan=plan,
            region=region,
            server_name=f"bench {tag} {i}",
            stripe_session_id=f"cs_bench_{tag}_{i}",
            allocation=allocation,
            # What checkout writes: the fulfilment compares the paid session with these.
            amount_cents=plan.price_cents,
            currency=plan.currency,
            stripe_price_id=plan.stripe_price_id,
        )
        order_ports_set(order=order, extras=extras or {})
        return order

    order = allocation_claim(region=region, plan=plan, claim=create) if reserve else create(None)
    return order.pk


def stripe_start() -> Any:
    """The Stripe sandbox on loopback (the demo's prices), for this process and for the
    gunicorn started after it (STRIPE_API_BASE in its environment): the webhook reads each
    paid session back from Stripe (billing/services.py checkout_session_fulfil)."""
    from django.conf import settings

    from catalog.demo import stripe_prices
    from sandbox.stripe import StripeSandbox

    sb = StripeSandbox(
        api_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        prices=stripe_prices(),
    )
    url = sb.serve()
    settings.STRIPE_API_BASE = url
    os.environ["STRIPE_API_BASE"] = url
    return sb


def paid_events(stripe_sb: Any, order_ids: list[int]) -> list[tuple[bytes, str]]:
    """For each order: a real Checkout Session in the sandbox (the app's own parameters), paid
    there; returns the signed checkout.session.completed deliveries, signed now (the receiver
    refuses a signature older than 300 s)."""
    from django.conf import settings

    from billing.models import Order
    from billing.services import _session_create

    events = []
    orders = Order.objects.in_bulk(order_ids)  # the deliveries in order_ids' order
    for order in (orders[pk] for pk in order_ids):
        session = _session_create(order=order, plan=order.plan, user=order.user, customer="")
        Order.objects.filter(pk=order.pk).update(stripe_session_id=session["id"])
        events.append(stripe_sb.complete_session(session["id"], deliver=False))
    out = []
    for event in events:
        body = json.dumps(stripe_sb.render_event(event)).encode()
        out.append((body, _sign(body, settings.STRIPE_WEBHOOK_SECRET)))
    return out


def _sign(body: bytes, secret: str) -> str:
    ts = int(time.time())
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"


def signed_event(order_id: int, session_id: str, *, n: int, secret: str) -> tuple[bytes, str]:
    # At the pinned version: the receiver stores an event at any other version as
    # wrong_version and does not act on it (billing/events.py PINNED_API_VERSION).
    from billing.events import PINNED_API_VERSION

    event = {
        "id": f"evt_bench_{session_id}_{n}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "api_version": PINNED_API_VERSION,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "client_reference_id": str(order_id),
                "metadata": {"order_id": str(order_id)},
                "payment_status": "paid",
                "status": "complete",
                "amount_total": 1000,
                "currency": "usd",
                "customer": "cus_bench",
                "payment_intent": f"pi_bench_{order_id}",
            }
        },
    }
    body = json.dumps(event).encode()
    ts = int(time.time())
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={ts},v1={sig}"


async def _post(port: int, path: str, body: bytes, signature: str) -> tuple[int, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: {signature}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data else 0
    return status, time.perf_counter() - started


async def _closed_loop(port, path, requests, concurrency):
    queue = list(reversed(requests))
    results: list[tuple[int, float]] = []

    async def worker():
        while queue:
            body, sig = queue.pop()
            results.append(await _post(port, path, body, sig))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


def load_closed(port: int, path: str, requests: list, concurrency: int) -> dict[str, Any]:
    """Send every request with `concurrency` in flight; throughput and latency."""
    results, elapsed = asyncio.run(_closed_loop(port, path, requests, concurrency))
    return summarise(results, elapsed)


async def _open_loop(port, path, requests, rate):
    results: list[tuple[int, float]] = []
    tasks = []
    started = time.perf_counter()
    for i, (body, sig) in enumerate(requests):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_post(port, path, body, sig)))
    results = await asyncio.gather(*tasks)
    return list(results), time.perf_counter() - started


def load_fixed_rate(port: int, path: str, requests: list, rate: float) -> dict[str, Any]:
    """Send at a fixed rate (open loop: latency includes any queueing at the server)."""
    results, elapsed = asyncio.run(_open_loop(port, path, requests, rate))
    return summarise(results, elapsed)


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summarise(results: list[tuple[int, float]], elapsed: float) -> dict[str, Any]:
    lat = [s for _, s in results]
    statuses: dict[str, int] = {}
    for code, _ in results:
        statuses[str(code)] = statuses.get(str(code), 0) + 1
    return {
        "requests": len(results),
        "seconds": round(elapsed, 3),
        "per_second": round(len(results) / elapsed, 1),
        "p50_ms": round(pct(lat, 50) * 1000, 2),
        "p99_ms": round(pct(lat, 99) * 1000, 2),
        "mean_ms": round(statistics.mean(lat) * 1000, 2) if lat else 0,
        "statuses": statuses,
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "database": DB_URL.split("@")[-1],
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"bench": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2))
    print(f"-> {path.relative_to(ROOT)}")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_start(*, workers: int) -> tuple[Any, int]:
    """gunicorn on a free loopback port, started and listening; returns (process, port)."""
    import socket
    import subprocess

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "givrwrld.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start within 30 s")
