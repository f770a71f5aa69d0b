"""(f) Scale-out topology: 2 web processes and 3 workers on one MariaDB, 500 paid orders.

Two gunicorn masters on their own loopback ports (two web machines behind a load balancer)
and three `manage.py worker` processes (three worker machines), one database. Every order's
checkout.session.completed event, signed, is delivered to BOTH web processes in a shuffled
order (Stripe retries an unanswered delivery, and the retry may land on the other machine), 8
in flight. Reported:

- orders provisioned, servers in the panel sandbox by external id (must be one each), panel
  users by e-mail (one per customer), provisioning tasks run (the reconciler re-queues a 'paid'
  order that waits longer than RECONCILE_PAID_AFTER_SECONDS: such a task finds the order done);
- time from the first delivery to the last order provisioned;
- for each periodic duty (heartbeat = the worker tick, reconcile, billing scan, panel sync):
  runs counted by the database (`duty_leases.runs`) against the intervals elapsed while the
  workers ran, the runs of each worker, and overlapping runs (from a 0.1 s sampler of the
  `duty_leases` rows: a run's start is `last_started_at`, its end the `last_finished_at` seen
  before the next start).

Duty intervals are shortened (env DUTY_* below) so a 1-minute window holds several intervals
of each; the panel's rate limit is lifted (bench/provisioning_bench.py measures that path).
Loopback only; bounded (a 420 s drain limit; ~3 minutes in all on an idle machine).
Usage: python bench/topology_bench.py"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import common

N = int(os.environ.get("BENCH_TOPO_ORDERS", "500"))
CUSTOMERS = int(os.environ.get("BENCH_TOPO_CUSTOMERS", "50"))
WEB = 2
WORKERS = 3
IN_FLIGHT = int(os.environ.get("BENCH_TOPO_IN_FLIGHT", "8"))
# The workers run at least this long, so the longest interval below passes several times.
WINDOW = float(os.environ.get("BENCH_TOPO_WINDOW", "60"))
DRAIN_LIMIT = 420.0  # from the first delivery
# Ports per node: 2 nodes serve us-east, so 400 leave room for 500 orders and keep the
# catalogue sync (every allocation of every node, each PANEL_SYNC interval) short.
PORTS = int(os.environ.get("BENCH_TOPO_PORTS", "400"))
DUTY_ENV = {
    "HEARTBEAT_INTERVAL_SECONDS": "2",
    "RECONCILE_INTERVAL_SECONDS": "5",
    "BILLING_SCAN_INTERVAL_SECONDS": "5",
    "PANEL_SYNC_INTERVAL_SECONDS": "10",
    "DUTY_LEASE_SECONDS": "30",
    "DUTY_POLL_SECONDS": "0.2",
    # The default: the reconciler queues again an order still 'paid' after 60 s, so while a
    # long queue drains it adds duplicate tasks, which must find their order done. (At 10 s
    # with the reconciler every 5 s, on a machine at a load of 20, the duplicates outgrew the
    # queue: docs/PERFORMANCE.md.)
    "RECONCILE_PAID_AFTER_SECONDS": "60",
    # Every order is paid through the webhook, not found by the reconciler's Stripe check.
    "RECONCILE_PENDING_AFTER_SECONDS": "3600",
    "PANEL_RATE_LIMIT_PER_MINUTE": "100000",
}
DUTIES = ("heartbeat", "reconcile", "billing_scan", "panel_sync")


class DutySampler(threading.Thread):
    """Reads the duty_leases rows every 0.1 s: each new last_started_at is a run (the shortest
    interval here is 2 s, so none is missed), with its owner and the end seen before the next."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.runs: dict[str, list[dict[str, Any]]] = {d: [] for d in DUTIES}
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from core.models import DutyLease

        try:
            while not self.stop.is_set():
                for row in DutyLease.objects.all():
                    self._see(row)
                self.stop.wait(0.1)
            for row in DutyLease.objects.all():
                self._see(row)
        finally:
            connection.close()

    def _see(self, row: Any) -> None:
        runs = self.runs.setdefault(row.name, [])
        if row.last_started_at is None:
            return
        start = row.last_started_at.timestamp()
        if not runs or runs[-1]["start"] != start:
            runs.append({"start": start, "owner": row.owner, "end": None})
        end = row.last_finished_at.timestamp() if row.last_finished_at else None
        if end is not None and end >= start and row.expires_at is None:
            runs[-1]["end"] = end


def worker_log(n: int) -> Any:
    return common.ROOT / "var" / f"bench-topology-worker-{n}.log"


def worker_start(env: dict[str, str], n: int) -> subprocess.Popen[bytes]:
    log = open(worker_log(n), "wb")
    return subprocess.Popen(
        [
            sys.executable,
            str(common.ROOT / "manage.py"),
            "worker",
            "--",
            "--interval",
            "0.05",
            "--no-startup-delay",
            "--no-reload",
        ],
        cwd=common.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def wait_up(ports: list[int]) -> None:
    """Every worker past start-up (its db_worker loop logged its start; the scheduler starts
    just before it) and every web process answering (gunicorn loads the app after it binds)."""
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        logs = [worker_log(n + 1).read_text() for n in range(WORKERS)]
        if all("Starting worker" in text for text in logs):
            break
        time.sleep(0.2)
    else:
        raise SystemExit("the workers did not start within 180 s")
    for port in ports:
        while httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"web process on port {port} not healthy")
            time.sleep(0.2)


async def _deliver(ports: list[int], events: list[bytes], secret: str) -> Counter[int]:
    """Each event to every web process, shuffled, IN_FLIGHT at once; signed at send time (the
    receiver refuses a signature older than 300 s)."""
    deliveries = [(port, body) for body in events for port in ports]
    random.Random(18).shuffle(deliveries)
    queue = list(reversed(deliveries))
    statuses: Counter[int] = Counter()

    async def one() -> None:
        while queue:
            port, body = queue.pop()
            status, _ = await common._post(
                port, "/api/stripe/webhook", body, common._sign(body, secret)
            )
            statuses[status] += 1

    await asyncio.gather(*(one() for _ in range(IN_FLIGHT)))
    return statuses


def duty_table(sampler: DutySampler, window: float, pids: dict[str, int]) -> dict[str, Any]:
    from django.conf import settings

    from core.models import DutyLease

    rows = {r.name: r for r in DutyLease.objects.all()}
    out = {}
    for duty in DUTIES:
        interval = float(getattr(settings, f"{duty.upper()}_INTERVAL_SECONDS"))
        runs = sorted(sampler.runs.get(duty, []), key=lambda r: r["start"])
        overlaps = sum(
            1 for a, b in itertools.pairwise(runs) if a["end"] is not None and b["start"] < a["end"]
        )
        closest = min((b["start"] - a["start"] for a, b in itertools.pairwise(runs)), default=None)
        by_worker = Counter(
            next((w for w, pid in pids.items() if f":{pid}:" in r["owner"]), "?") for r in runs
        )
        bound = int(window // interval) + 1
        out[duty] = {
            "interval_s": interval,
            "runs": rows[duty].runs if duty in rows else 0,
            "runs_seen": len(runs),
            "intervals_elapsed": round(window / interval, 1),
            "bound_once_per_interval": bound,
            "if_each_worker_ran_it": WORKERS * bound,
            "runs_by_worker": dict(sorted(by_worker.items())),
            "overlapping_runs": overlaps,
            "closest_starts_s": round(closest, 2) if closest is not None else None,
            "longest_run_s": round(
                max((r["end"] - r["start"] for r in runs if r["end"] is not None), default=0), 2
            ),
            "unfinished_runs": sum(1 for r in runs if r["end"] is None),
            "last_error": rows[duty].last_error if duty in rows else "",
        }
    return out


def main() -> None:
    started = time.monotonic()
    common.db_create()
    from django.conf import settings
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from billing.models import Order, OrderEvent
    from provisioning.models import ProvisioningAttempt

    sb = common.panel_start(rate_limit=100_000, ports=PORTS)
    stripe_sb = common.stripe_start()  # before gunicorn and the workers: they inherit its URL
    ids = common.orders_seed(N, customers=CUSTOMERS, reserve=True, tag="t")
    # Real sessions paid in the Stripe sandbox: the webhook reads each one back.
    events = [body for body, _ in common.paid_events(stripe_sb, ids)]
    emails = set(Order.objects.filter(pk__in=ids).values_list("user__email", flat=True))
    connection.close()
    took = time.monotonic() - started
    print(f"{N} orders of {len(emails)} customers paid in the sandbox ({took:.0f}s)")

    webs = [common.gunicorn_start(workers=1) for _ in range(WEB)]
    ports = [port for _, port in webs]
    worker_env = {**os.environ, **DUTY_ENV}
    settings_overrides = {k: v for k, v in DUTY_ENV.items() if k.endswith("_INTERVAL_SECONDS")}
    for key, value in settings_overrides.items():  # for duty_table's intervals
        setattr(settings, key, float(value))
    sampler = DutySampler()
    sampler.start()
    spawned = time.time()
    workers = [worker_start(worker_env, i + 1) for i in range(WORKERS)]
    pids = {f"w{i + 1}": p.pid for i, p in enumerate(workers)}
    try:
        wait_up(ports)
        up = time.time()
        sent = time.monotonic()
        statuses = asyncio.run(_deliver(ports, events, settings.STRIPE_WEBHOOK_SECRET))
        delivered = time.monotonic() - sent
        drained = None
        while time.monotonic() - sent < DRAIN_LIMIT:
            if Order.objects.filter(pk__in=ids, status="provisioned").count() == N:
                drained = time.monotonic() - sent
                break
            time.sleep(0.25)
        connection.close()
        rest = WINDOW - (time.time() - up)
        if rest > 0:
            time.sleep(rest)  # the duties keep running: several intervals of each
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        window = time.time() - spawned
        sampler.stop.set()
        sampler.join(timeout=10)
        for proc, _ in webs:
            proc.terminate()
        for proc, _ in webs:
            proc.wait(timeout=30)
        stripe_sb.shutdown()

    prefix = settings.PANEL_EXTERNAL_ID_PREFIX
    ours = {f"{prefix}-order-{oid}" for oid in ids}
    by_external = Counter(s["external_id"] for s in sb.state.servers.values())
    users_by_email = Counter(u["email"] for u in sb.state.users.values() if u["email"] in emails)
    tasks = DBTaskResult.objects.filter(task_path__endswith=".provision_order")
    out = {
        "web_processes": WEB,
        "workers": WORKERS,
        "orders": N,
        "customers": len(emails),
        "deliveries": sum(statuses.values()),
        "delivery_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "deliveries_seconds": round(delivered, 1),
        "provisioned": Order.objects.filter(pk__in=ids, status="provisioned").count(),
        "error": Order.objects.filter(pk__in=ids, status="error").count(),
        "provisioned_events": OrderEvent.objects.filter(to_status="provisioned").count(),
        "attempts_succeeded": ProvisioningAttempt.objects.filter(outcome="succeeded").count(),
        "attempts_other": dict(
            Counter(
                ProvisioningAttempt.objects.exclude(outcome="succeeded").values_list(
                    "outcome", flat=True
                )
            )
        ),
        "panel_servers": len(sb.state.servers),
        "panel_servers_of_these_orders": sum(1 for e in by_external if e in ours),
        "duplicate_external_ids": sum(1 for n in by_external.values() if n > 1),
        "servers_without_order": sum(1 for e in by_external if e not in ours),
        "panel_users": sum(users_by_email.values()),
        "duplicate_panel_users": sum(1 for n in users_by_email.values() if n > 1),
        "provision_tasks": tasks.count(),
        "provision_tasks_by_status": dict(Counter(tasks.values_list("status", flat=True))),
        "drain_seconds": round(drained, 1) if drained is not None else None,
        "orders_per_second": round(N / drained, 1) if drained else None,
        "workers_start_seconds": round(up - spawned, 1),
        "window_seconds": round(window, 1),
        "duties": duty_table(sampler, window, pids),
        "duty_settings": DUTY_ENV,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"machine: {common.machine()}; load average {out['load_average']}")
    for key, value in out.items():
        if key not in ("duties", "duty_settings"):
            print(f"  {key}: {value}")
    print("  duty          interval  runs  bound  (x3 workers)  by worker            overlaps")
    for duty, d in out["duties"].items():
        bound, each = d["bound_once_per_interval"], d["if_each_worker_ran_it"]
        print(
            f"  {duty:<13} {d['interval_s']:>6.0f} s {d['runs']:>5} {bound:>6} {each:>13}"
            f"  {d['runs_by_worker']!s:<20} {d['overlapping_runs']}"
        )
    duties_ok = all(
        1 <= d["runs"] <= d["bound_once_per_interval"] and d["overlapping_runs"] == 0
        for d in out["duties"].values()
    )
    out["targets"] = {
        "every_order_provisioned": out["provisioned"] == N,
        "one_server_per_order": out["panel_servers_of_these_orders"] == N
        and out["duplicate_external_ids"] == 0
        and out["servers_without_order"] == 0,
        "one_panel_user_per_customer": out["panel_users"] == len(emails)
        and out["duplicate_panel_users"] == 0,
        "every_delivery_200": set(statuses) == {200},
        "each_duty_once_per_interval_no_overlap": duties_ok,
    }
    print(f"  targets: {out['targets']}  (whole bench {time.monotonic() - started:.0f}s)")
    common.write_result("topology", out)


if __name__ == "__main__":
    main()
