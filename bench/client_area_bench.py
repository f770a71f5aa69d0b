"""Client area: panel calls and page time for a dashboard of 20 servers (live state).

One customer with 20 provisioned servers on the panel sandbox (loopback, each call delayed
by BENCH_PANEL_LATENCY seconds to stand in for a panel across a network). *My servers* is
loaded in-process (Django's test client, the real middleware and templates) in three set-ups:
one thread and no cache, LIVE_STATE_WORKERS threads and no cache, and the default (threads
plus the shared cache of LIVE_STATE_CACHE_SECONDS). Reported: panel calls per page load (from
the sandbox's counters) and p50/p95 page time. Database: MariaDB, BENCH_DATABASE_URL
(default givrwrld_client_area_bench, dropped and re-created).
Usage: python bench/client_area_bench.py"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault(
    "BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/givrwrld_client_area_bench"
)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

import common  # (after the environment above)

SERVERS = int(os.environ.get("BENCH_SERVERS", "20"))
LOADS = int(os.environ.get("BENCH_LOADS", "40"))
LATENCY = float(os.environ.get("BENCH_PANEL_LATENCY", "0.03"))
RESOURCES = "GET /api/client/servers/{server}/resources"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def scenario(label: str, client, sb, *, workers: int, cache_seconds: int) -> dict:  # type: ignore[no-untyped-def]
    from django.core.cache import cache
    from django.test import override_settings

    cache.clear()
    sb.reset_counters()
    times = []
    with override_settings(LIVE_STATE_WORKERS=workers, LIVE_STATE_CACHE_SECONDS=cache_seconds):
        for _ in range(LOADS):
            started = time.perf_counter()
            response = client.get("/dashboard")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            assert response.content.decode().count('data-state="running"') == SERVERS
    calls = sb.counters().get(RESOURCES, 0)
    out = {
        "workers": workers,
        "cache_seconds": cache_seconds,
        "page_loads": LOADS,
        "panel_calls": calls,
        "panel_calls_per_load": round(calls / LOADS, 2),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_p95(times), 1),
        "first_load_ms": round(times[0], 1),
    }
    print(f"{label}: {out}")
    return out


def main() -> None:
    common.db_create()
    from django.test import Client

    from accounts.models import User
    from billing.models import Order, OrderStatus
    from billing.services import order_mark_paid
    from core.secrets import secret_set
    from panel.client import PanelClient
    from provisioning.services import order_provision

    sb = common.panel_start(rate_limit=100_000)
    sb.faults.client_rate_limit = 100_000
    secret_set(name="panel.PANEL_CLIENT_KEY", value=sb.client_key)
    ids = common.orders_seed(SERVERS, customers=1, reserve=True, tag="ca")
    for oid in ids:
        order = Order.objects.get(pk=oid)
        order_mark_paid(
            order_id=oid,
            session={
                "id": order.stripe_session_id,
                "payment_status": "paid",
                "amount_total": order.plan.price_cents,
                "currency": "usd",
            },
            actor="bench",
        )
    with PanelClient(sb.url, sb.app_key) as panel:
        for oid in ids:
            order_provision(order_id=oid, client=panel)
    assert Order.objects.filter(pk__in=ids, status=OrderStatus.PROVISIONED).count() == SERVERS
    sb.state.complete_installs()
    for server in sb.state.servers.values():
        server["power"] = "running"
    sb.faults.latency = LATENCY
    client = Client()
    client.force_login(User.objects.get(orders__pk=ids[0]))

    serial = scenario("1 thread, no cache", client, sb, workers=1, cache_seconds=0)
    parallel = scenario("4 threads, no cache", client, sb, workers=4, cache_seconds=0)
    cached = scenario("4 threads, 10 s cache", client, sb, workers=4, cache_seconds=10)
    print(f"machine: {common.machine()}; {SERVERS} servers, panel latency {LATENCY * 1000:g} ms")
    common.write_result(
        "client_area",
        {
            "servers": SERVERS,
            "panel_latency_ms": LATENCY * 1000,
            "serial_uncached": serial,
            "parallel_uncached": parallel,
            "parallel_cached": cached,
        },
    )


if __name__ == "__main__":
    main()
