"""Scale-out topology: two web processes and three workers on one database. The webhooks
are spread over both web processes (every third sent to both), the reconciler re-queues
orders while the queue drains, and still every order gets one server and each periodic duty
runs once per interval across all three workers (never once per worker), never two runs of
one duty at a time. bench/topology_bench.py runs the same at 500 orders on MariaDB
(docs/PERFORMANCE.md)."""

from __future__ import annotations

import itertools
import json
import random
import signal
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.db import close_old_connections
from faultkit import (
    assert_exactly_one_server_per_order,
    free_port,
    paid_orders,
    spawn_duty_worker,
    spawn_web,
    wait_until,
    widen_inventory,
)
from testkit import make_customer

from billing.models import Order, OrderEvent
from core.models import DutyLease
from provisioning.models import ProvisioningAttempt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DUTY_NAMES = ("heartbeat", "reconcile", "billing_scan", "panel_sync")
# Short intervals so a short run holds several of each. The lease is long: no worker dies
# here, and a lease shorter than the longest stall of a holder lets another worker take the
# duty over while the holder still runs it (seen with a 6 s lease on SQLite at a load of 19:
# a heartbeat waited 9.5 s for the write lock, and so did its lease renewal).
INTERVALS = {
    "HEARTBEAT_INTERVAL_SECONDS": 1,
    "RECONCILE_INTERVAL_SECONDS": 2,
    "BILLING_SCAN_INTERVAL_SECONDS": 2,
    "PANEL_SYNC_INTERVAL_SECONDS": 3,
}
WORKERS = 3
ORDERS_PER_CUSTOMER = 10
CUSTOMERS = 6
MIN_RUNS = 3  # of each duty before the workers stop: enough for "once per interval" to show


def _interval(duty: str) -> float:
    return float(INTERVALS[f"{duty.upper()}_INTERVAL_SECONDS"])


def _post(url: str, body: str, signature: str) -> int:
    r = httpx.post(
        url + "/api/stripe/webhook",
        content=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        timeout=60,
    )
    return r.status_code


def _stop(procs: list) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except Exception:
            proc.kill()
            proc.wait()


def test_two_web_processes_three_workers_each_order_once_each_duty_once_per_interval(
    catalog, stripe_sandbox, settings, tmp_path
):
    widen_inventory(catalog, ports="30000-30099")
    events = []
    for i in range(CUSTOMERS):
        client = make_customer(f"topo{i}@example.com")[1]
        events += paid_orders(client, stripe_sandbox, ORDERS_PER_CUSTOMER, server_name=f"topo-{i}")
    orders = list(Order.objects.all())
    assert len(orders) == CUSTOMERS * ORDERS_PER_CUSTOMER
    duty_log = tmp_path / "duties.jsonl"
    # The paid-session handler reads each session back from Stripe (the sandbox).
    stripe_env = {"STRIPE_API_BASE": settings.STRIPE_API_BASE}
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    webs = [spawn_web(port=port, **stripe_env) for port in ports]
    spawned = time.time()
    workers = [
        spawn_duty_worker(
            **INTERVALS,
            **stripe_env,
            DUTY_LEASE_SECONDS=30,
            DUTY_POLL_SECONDS=0.1,
            # Orders still 'paid' after 3 s are queued again while the queue drains: the
            # extra tasks must find their order done.
            RECONCILE_PAID_AFTER_SECONDS=3,
            GIVRWRLD_DUTY_LOG=duty_log,
        )
        for _ in range(WORKERS)
    ]
    try:

        def up(url: str) -> bool:
            try:
                return httpx.get(url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(lambda: all(up(url) for url in urls), timeout=120, interval=0.2)
        # The events alternate between the web processes, and every third goes to both (a
        # retry of Stripe's may land on either); shuffled.
        deliveries = [
            (url, json.dumps(event))
            for i, event in enumerate(events)
            for url in (urls if i % 3 == 0 else [urls[i % 2]])
        ]
        random.Random(18).shuffle(deliveries)
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(
                pool.map(lambda d: _post(d[0], d[1], stripe_sandbox.sign(d[1])), deliveries)
            )
        assert Counter(statuses) == {200: len(deliveries)}

        def settled() -> bool:
            close_old_connections()
            if Order.objects.exclude(status="provisioned").exists():
                return False
            runs = dict(DutyLease.objects.values_list("name", "runs"))
            return all(runs.get(duty, 0) >= MIN_RUNS for duty in DUTY_NAMES)

        assert wait_until(settled, timeout=180, interval=0.2), (
            Counter(Order.objects.values_list("status", flat=True)),
            list(DutyLease.objects.values_list("name", "runs")),
        )
    finally:
        _stop(workers)
        _stop(webs)
    window = time.time() - spawned

    assert_exactly_one_server_per_order(catalog, orders)
    assert ProvisioningAttempt.objects.filter(outcome="succeeded").count() == len(orders)
    assert not ProvisioningAttempt.objects.exclude(outcome="succeeded").exists()
    assert OrderEvent.objects.filter(to_status="paid").count() == len(orders)
    assert OrderEvent.objects.filter(to_status="provisioned").count() == len(orders)
    panel_users = Counter(u["email"] for u in catalog.state.users.values())
    assert {f"topo{i}@example.com": 1 for i in range(CUSTOMERS)}.items() <= panel_users.items()

    # Every run of every worker, from the duty log: start = the lease's start in the database.
    runs: dict[str, dict[tuple[int, float], dict]] = defaultdict(dict)
    for line in Path(duty_log).read_text().splitlines():
        entry = json.loads(line)
        runs[entry["duty"]].setdefault((entry["pid"], entry["start"]), {}).update(entry)
    leases = {row.name: row for row in DutyLease.objects.all()}
    pids = {proc.pid for proc in workers}
    figures = {}
    for duty in DUTY_NAMES:
        interval = _interval(duty)
        ordered = sorted(runs[duty].values(), key=lambda r: r["start"])
        # Every run ended but perhaps the last: a worker stopping waits DUTY_LEASE_SECONDS for
        # a running duty, then exits (a long panel sync on a loaded machine outlasts that).
        assert all("end" in run for run in ordered[:-1]), (duty, ordered)
        for prev, nxt in itertools.pairwise(ordered):
            assert nxt["start"] - prev["start"] >= interval - 1e-3, (duty, prev, nxt)
            assert nxt["start"] >= prev["end"] - 1e-3, (duty, prev, nxt)  # never two at once
        # Once per interval across all workers, not once per worker.
        assert MIN_RUNS <= len(ordered) <= window / interval + 1, (duty, len(ordered), window)
        assert leases[duty].runs == len(ordered)  # the production counter agrees
        assert {run["pid"] for run in ordered} <= pids
        figures[duty] = (len(ordered), int(window / interval) + 1, len({r["pid"] for r in ordered}))
    print(
        f"\n2 web + {WORKERS} workers: {len(orders)} orders, {len(deliveries)} deliveries, "
        f"{len(catalog.state.servers)} servers; duty runs (runs, bound, workers that ran it) "
        f"{figures} in {window:.0f}s"
    )
