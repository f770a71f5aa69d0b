"""(d) Launch day: 1,000 distinct signed-in customers buy the same plan in the same region at
once, 32 in flight, through the real HTTP checkout (POST /api/checkout/session: gunicorn,
MariaDB, the Stripe sandbox creating each Checkout Session) for a region with room for exactly
200 servers. Reports sold, oversold (must be 0), refused with a clear sold-out (409
`sold_out`), p50/p99 latency, deadlocks and 5xx (must be 0).
Usage: python bench/flash_sale.py"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time

import common

CUSTOMERS = int(os.environ.get("BENCH_FLASH_CUSTOMERS", "1000"))
IN_FLIGHT = int(os.environ.get("BENCH_FLASH_IN_FLIGHT", "32"))
ROOM = int(os.environ.get("BENCH_FLASH_ROOM", "200"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str(os.cpu_count() or 2)))
PLAN, REGION = "minecraft-2gb", "us-east"


def room_limit(room: int) -> None:
    """Leave exactly `room` free ports for the plan in the region (the rest marked taken, as
    a sync would when the panel uses them)."""
    from catalog.models import Allocation, Plan, Region
    from catalog.selectors import free_allocations, region_nodes

    region, plan = Region.objects.get(slug=REGION), Plan.objects.get(slug=PLAN)
    free = [a.pk for n in region_nodes(region=region) for a in free_allocations(node=n, plan=plan)]
    Allocation.objects.filter(pk__in=free[room:]).update(assigned=True)


def signed_in(n: int) -> list[str]:
    """n customers, each with a session as a sign-in creates it (django.contrib.auth.login:
    the user id, backend and session hash); returns the session keys."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User

    keys = []
    for i in range(n):
        user = User.objects.create(email=f"flash-{i}@example.com", first_name="F", last_name="S")
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    return keys


async def _checkout(port: int, session_key: str, i: int) -> tuple[int, str, float]:
    csrf = secrets.token_hex(16)  # 32 characters: a valid CSRF secret (double submit)
    body = json.dumps(
        {"plan": PLAN, "region": REGION, "server_name": f"launch {i}", "variables": {}}
    ).encode()
    head = (
        f"POST /api/checkout/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nX-CSRFToken: {csrf}\r\n"
        f"Cookie: sessionid={session_key}; csrftoken={csrf}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    elapsed = time.perf_counter() - started
    status = int(data.split(b" ", 2)[1]) if data else 0
    try:
        code = json.loads(data.split(b"\r\n\r\n", 1)[1]).get("code", "")
    except (ValueError, IndexError, AttributeError):
        code = ""
    return status, code or "", elapsed


async def _run(port: int, keys: list[str]) -> tuple[list[tuple[int, str, float]], float]:
    queue = list(enumerate(keys))[::-1]
    results: list[tuple[int, str, float]] = []

    async def worker() -> None:
        while queue:
            i, key = queue.pop()
            results.append(await _checkout(port, key, i))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return results, time.perf_counter() - started


def main() -> None:
    common.db_create()
    from billing.models import Order

    common.panel_start()
    stripe_sb = common.stripe_start()  # before gunicorn: it inherits STRIPE_API_BASE
    room_limit(ROOM)
    keys = signed_in(CUSTOMERS)
    gunicorn, port = common.gunicorn_start(workers=WORKERS)
    try:
        results, elapsed = asyncio.run(_run(port, keys))
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        stripe_sb.shutdown()
    lat = [s for _, _, s in results]
    by: dict[str, int] = {}
    for status, code, _ in results:
        by[f"{status} {code}".strip()] = by.get(f"{status} {code}".strip(), 0) + 1
    sold = sum(1 for s, _, _ in results if s == 201)
    sold_out = sum(1 for s, c, _ in results if s == 409 and c == "sold_out")
    five_xx = sum(1 for s, _, _ in results if s >= 500 or s == 0)
    held = Order.objects.filter(allocation__isnull=False).exclude(status="cancelled")
    distinct_ports = held.values("allocation_id").distinct().count()
    oversold = max(0, held.count() - ROOM) + (held.count() - distinct_ports)
    sessions = len(stripe_sb.sessions)
    out = {
        "customers": CUSTOMERS,
        "in_flight": IN_FLIGHT,
        "room": ROOM,
        "gunicorn_workers": WORKERS,
        "seconds": round(elapsed, 2),
        "per_second": round(len(results) / elapsed, 1),
        "sold": sold,
        "orders_holding_a_port": held.count(),
        "stripe_sessions_created": sessions,
        "oversold": oversold,
        "refused_sold_out": sold_out,
        "other": {k: v for k, v in by.items() if k not in ("201", "409 sold_out")},
        "5xx_or_reset": five_xx,
        "p50_ms": round(common.pct(lat, 50) * 1000, 1),
        "p99_ms": round(common.pct(lat, 99) * 1000, 1),
        "max_ms": round(max(lat) * 1000, 1),
        # This branch has no checkout rate limit or unpaid-hold cap to raise; each customer
        # buys once, so a per-customer cap would not interfere.
        "rate_limits": "none on this branch's checkout (each customer buys once)",
    }
    print(f"machine: {common.machine()}; load average: {os.getloadavg()}")
    print(f"{CUSTOMERS} customers, {IN_FLIGHT} in flight, room for {ROOM}:")
    for key in ("sold", "oversold", "refused_sold_out", "5xx_or_reset", "other"):
        print(f"  {key:22} {out[key]}")
    print(f"  {'latency p50/p99/max':22} {out['p50_ms']} / {out['p99_ms']} / {out['max_ms']} ms")
    print(f"  {'throughput':22} {out['per_second']} checkouts/s over {out['seconds']} s")
    print(f"  rate limits: {out['rate_limits']}")
    common.write_result(
        "flash_sale",
        {
            **out,
            "load_average": os.getloadavg(),
            "targets": {
                "oversold==0": oversold == 0,
                "sold==room": sold == ROOM,
                "5xx==0": five_xx == 0,
                "p99<500ms": out["p99_ms"] < 500,
            },
        },
    )


if __name__ == "__main__":
    main()
