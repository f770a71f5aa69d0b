"""(c) Latency from the webhook received to the panel's create call, with 1 and 4 workers.

gunicorn and `db_worker` processes run against MariaDB; signed checkout.session.completed
events for returning customers (whose provisioning is exactly one panel call, the create) are
posted at a fixed rate; the panel sandbox stamps each server with the time the create
arrived. Latency = that time - the time the webhook was sent (one machine, one clock).
Usage: python bench/latency_bench.py"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import common

N = int(os.environ.get("BENCH_LATENCY_EVENTS", "100"))
# A steady 5 payments per second: well above a hosting shop's peak, below one worker's capacity
# (at 20/s one worker falls behind and the figure measures its queue, not its latency).
RATE = float(os.environ.get("BENCH_LATENCY_RATE", "5"))
# How often an idle worker looks for a task: the floor under this latency.
POLL = os.environ.get("BENCH_WORKER_INTERVAL", "0.05")


async def _send(port: int, events: list[tuple[int, bytes, str]]) -> dict[int, float]:
    sent: dict[int, float] = {}
    tasks = []
    started = time.perf_counter()
    for i, (order_id, body, sig) in enumerate(events):
        delay = started + i / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[order_id] = time.time()
        tasks.append(asyncio.create_task(common._post(port, "/api/stripe/webhook", body, sig)))
    results = await asyncio.gather(*tasks)
    assert all(status == 200 for status, _ in results), results[:5]
    return sent


def run(workers: int, port: int, sb, stripe_sb, tag: str) -> dict:
    from django.conf import settings

    from billing.models import Order
    from provisioning.panel_users import panel_user_ensure

    ids = common.orders_seed(N, customers=5, reserve=True, tag=tag)
    from panel.client import PanelClient

    with PanelClient(sb.url, sb.app_key) as client:  # returning customers: users exist
        for user_id in set(Order.objects.filter(pk__in=ids).values_list("user_id", flat=True)):
            panel_user_ensure(client=client, user_id=user_id)
    # Real sessions paid in the Stripe sandbox: the webhook reads each one back.
    signed = common.paid_events(stripe_sb, ids)
    events = [(order_id, body, sig) for order_id, (body, sig) in zip(ids, signed, strict=True)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(common.ROOT / "manage.py"),
                "db_worker",
                "--interval",
                POLL,
                "--no-startup-delay",
                "--no-reload",
            ],
            cwd=common.ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(3)  # workers up and polling
        sent = asyncio.run(_send(port, events))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if Order.objects.filter(pk__in=ids, status="provisioned").count() == len(ids):
                break
            time.sleep(0.5)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    created = {
        s["external_id"]: s["created_at"] for s in sb.state.servers.values() if s["external_id"]
    }
    prefix = settings.PANEL_EXTERNAL_ID_PREFIX
    lat = [
        created[f"{prefix}-order-{oid}"] - sent[oid]
        for oid in ids
        if f"{prefix}-order-{oid}" in created
    ]
    out = {
        "workers": workers,
        "events": N,
        "rate_per_second": RATE,
        "worker_poll_interval_s": float(POLL),
        "provisioned": len(lat),
        "p50_ms": round(common.pct(lat, 50) * 1000, 1),
        "p99_ms": round(common.pct(lat, 99) * 1000, 1),
        "max_ms": round(max(lat) * 1000, 1) if lat else None,
    }
    print(f"{workers} worker(s): {out}")
    return out


def main() -> None:
    common.db_create()
    sb = common.panel_start(rate_limit=100_000)
    stripe_sb = common.stripe_start()  # before gunicorn and the workers: they inherit its URL
    gunicorn, port = common.gunicorn_start(workers=2)
    try:
        one = run(1, port, sb, stripe_sb, "l1")
        four = run(4, port, sb, stripe_sb, "l4")
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        stripe_sb.shutdown()
    print(f"machine: {common.machine()}")
    common.write_result(
        "latency",
        {
            "one_worker": one,
            "four_workers": four,
            "targets": {
                "p50<250ms (1 worker)": one["p50_ms"] < 250,
                "p50<250ms (4 workers)": four["p50_ms"] < 250,
            },
        },
    )


if __name__ == "__main__":
    main()
