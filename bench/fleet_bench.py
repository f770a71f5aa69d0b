"""(f) Background panel traffic as the fleet grows: the panel sandbox seeded with 100 / 1,000 /
10,000 / 50,000 servers over 50 nodes, every server an order of ours, the panel's default
rate limit (240/min) and the default background share (5 %: one call every 5 s).

Per size, two phases:
1. Simulated time (BENCH_FLEET_MINUTES, or 1.6 passes of the fleet, 25 to 80 min): the real
   panel sync duty (provisioning/duties.py panel_sync_duty) run back to back as the scheduler
   runs it (a pass starts PANEL_SYNC_INTERVAL_SECONDS after the last one started, or when it
   ends), on a clock that jumps over every wait (core/panel_budget.py's clock and sleep, the
   client's throttle and the sandbox all on it; compute takes its real time). Reports the
   background calls per hour, the most in any 60-s window and their share of the budget, the
   length of a pass, and how long a server deleted by hand in the panel at a random moment
   took to be alerted.
2. Real time (about 30 s): the same duty in a real Scheduler thread beside provisioning-like
   panel creates (`POST /servers` with the foreground client), issued idle (the baseline), at
   random moments while the duty runs, and right after a pass starts (its first call let go at
   once). The added delay is the create's latency minus the idle median.

Usage: python bench/fleet_bench.py   (BENCH_FLEET_SIZES=100,1000 for a shorter run)"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
from bisect import bisect_left
from typing import Any

import common

SIZES = [int(x) for x in os.environ.get("BENCH_FLEET_SIZES", "100,1000,10000,50000").split(",")]
NODES = 50
PORTS = 1020  # per node: room for 50,000 servers and the bench's foreground creates
LIMIT = 240
SHARE = 0.05
MAX_MINUTES = float(os.environ.get("BENCH_FLEET_MINUTES", "0"))  # 0: 3 passes, <= 180 min
RANDOM_CREATES = 8
AFTER_START_CREATES = 3
IDLE_CREATES = 8
rng = random.Random(18)


class SimClock:
    """Real elapsed time plus every wait, which it skips (one thread: the duty's)."""

    def __init__(self) -> None:
        self.base = time.time()
        self.real0 = time.monotonic()
        self.skipped = 0.0

    def __call__(self) -> float:
        return self.base + (time.monotonic() - self.real0) + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)


def fleet_seed(servers: int) -> dict[str, Any]:
    seed = common.bench_seed(ports=PORTS)
    location = seed["locations"][0]["id"]
    node0 = seed["nodes"][0]
    seed["nodes"] = [
        {
            **node0,
            "id": n,
            "uuid": f"0e6d4ad0-7d5e-4d0c-9a57-{n:012d}",
            "name": f"node-{n}",
            "fqdn": f"node-{n}.nodes.givrwrld.test",
            "location_id": location,
        }
        for n in range(1, NODES + 1)
    ]
    seed["allocations"] = [
        {
            "node_id": n,
            "ip": f"203.0.{113 + n // 250}.{n % 250}",
            "ports": [f"20000-{20000 + PORTS - 1}"],
        }
        for n in range(1, NODES + 1)
    ]
    return seed


def servers_insert(sb: Any, servers: int) -> list[int]:
    """`servers` servers in the sandbox's state, round-robin over the nodes, shaped as its
    `POST /servers` writes them (sandbox/panel/application/server_creation.py insert_server)."""
    st = sb.state
    egg = st.eggs[3]
    free: dict[int, list[dict[str, Any]]] = {}
    for alloc in st.allocations.values():
        free.setdefault(alloc["node_id"], []).append(alloc)
    now = sb.clock()
    ids = []
    with st.lock:
        for i in range(servers):
            alloc = free[1 + i % NODES].pop()
            sid = st.next_id("servers")
            uid = f"{sid:08x}-0000-4000-8000-{sid:012x}"
            st.servers[sid] = {
                "id": sid, "external_id": f"bench-{sid}", "uuid": uid, "name": f"fleet {sid}",
                "description": "", "status": None, "owner_id": 1, "node_id": alloc["node_id"],
                "allocation_id": alloc["id"], "nest_id": egg["nest_id"], "egg_id": egg["id"],
                "memory": 1024, "swap": 0, "disk": 1024, "io": 500, "cpu": 100, "threads": None,
                "oom_disabled": True, "database_limit": 0, "allocation_limit": 0,
                "backup_limit": 0, "startup": egg["startup"],
                "image": next(iter(egg["docker_images"].values())), "skip_scripts": False,
                "start_on_completion": False, "env": {}, "install_pending": None,
                "install_started_at": None, "power": "offline", "power_pending": None,
                "started_at": None, "created_at": now, "updated_at": now,
            }  # fmt: skip
            alloc["server_id"] = sid
            ids.append(sid)
    return ids


def orders_insert(server_ids: list[int]) -> dict[int, int]:
    """Every server an order of ours, provisioned and installed. Returns server id -> order id."""
    from django.utils import timezone

    from accounts.models import User
    from billing.models import Order, OrderStatus
    from catalog.models import Plan, Region

    user, _ = User.objects.get_or_create(email="fleet@example.com")
    plan = Plan.objects.get(slug="minecraft-2gb")
    region = Region.objects.get(slug="us-east")
    now = timezone.now()
    Order.objects.bulk_create(
        (
            Order(
                user=user,
                plan=plan,
                region=region,
                server_name=f"fleet {sid}",
                status=OrderStatus.PROVISIONED,
                ptero_server_id=sid,
                provisioned_at=now,
                installed_at=now,
                amount_cents=plan.price_cents,
                currency=plan.currency,
            )
            for sid in server_ids
        ),
        batch_size=2000,
    )
    return dict(Order.objects.values_list("ptero_server_id", "pk"))


def tables_clear() -> None:
    """Empty what one size leaves behind (the schema stays: one migrate per run)."""
    from django.db import connection

    from billing.models import Order, OrderEvent
    from catalog.models import Allocation, Node, RegionNodeMap
    from core.models import Alert, DutyLease, PanelBudget
    from provisioning.models import ProvisioningAttempt

    models = [OrderEvent, ProvisioningAttempt, Alert, Order, RegionNodeMap, Allocation, Node]
    with connection.cursor() as cur:
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        for model in [*models, PanelBudget, DutyLease]:
            cur.execute(f"DELETE FROM {model._meta.db_table}")
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")


def most_in_window(times: list[float], window: float = 60.0) -> int:
    times = sorted(times)
    return max((bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


def simulated(size: int, sb: Any, clock: SimClock, orders: dict[int, int]) -> dict[str, Any]:
    from django.conf import settings
    from django.db.models.signals import post_save

    from core import panel_budget
    from core.models import Alert
    from panel.client import PanelClient
    from provisioning import duties

    calls: list[tuple[float, str]] = []
    calls_per_pass = 8 + NODES + math.ceil(size / 100)
    pass_minutes = calls_per_pass * 60 / (LIMIT * SHARE) / 60
    minutes = MAX_MINUTES or min(80.0, max(25.0, 1.6 * pass_minutes))
    victim = rng.choice(list(orders))
    start = clock()
    delete_at = start + rng.uniform(0.05, 0.3) * minutes * 60
    deleted: dict[str, float] = {}
    detected: dict[str, float] = {}

    def on_call(endpoint: str, outcome: str, seconds: float) -> None:
        calls.append((clock() - seconds, endpoint))  # when it was sent
        if not deleted and clock() >= delete_at:
            with sb.state.lock:  # deleted in the panel by hand (its port freed)
                server = sb.state.servers.pop(victim)
                sb.state.allocations[server["allocation_id"]]["server_id"] = None
            deleted["at"] = clock()

    def on_alert(sender: Any, instance: Any, created: bool, **kw: Any) -> None:
        if created and instance.order_id == orders[victim] and "at" not in detected:
            detected["at"] = clock()

    def client() -> PanelClient:
        c = PanelClient.from_settings(clock=clock, sleep=clock.sleep, on_call=on_call)
        c.pace = panel_budget.background_pacer(c.throttle)
        return c

    post_save.connect(on_alert, sender=Alert)
    real_client, duties.background_client = duties.background_client, client  # type: ignore[assignment]
    panel_budget.clock, panel_budget.sleep = clock, clock.sleep
    passes = []
    real_started = time.monotonic()
    try:
        while clock() < start + minutes * 60:
            began = clock()
            duties.panel_sync_duty()
            passes.append(clock() - began)
            due = max(began + settings.PANEL_SYNC_INTERVAL_SECONDS, clock())
            clock.sleep(due - clock())
    finally:
        duties.background_client = real_client  # type: ignore[assignment]
        panel_budget.clock, panel_budget.sleep = time.time, panel_budget._default_sleep
        post_save.disconnect(on_alert, sender=Alert)
    hours = (clock() - start) / 3600
    times = [t for t, _ in calls]
    worst = most_in_window(times)
    return {
        "simulated_minutes": round((clock() - start) / 60, 1),
        "real_seconds": round(time.monotonic() - real_started, 1),
        "passes": len(passes),
        "pass_minutes": round(statistics.mean(passes) / 60, 1),
        "calls": len(calls),
        "calls_per_hour": round(len(calls) / hours),
        "max_60s": worst,
        "max_60s_share_pct": round(100 * worst / LIMIT, 2),
        "detect_minutes": round((detected["at"] - deleted["at"]) / 60, 1) if detected else None,
        "deleted_at_minute": round((deleted.get("at", 0) - start) / 60, 1),
    }


def create_latency(sb: Any, client: Any) -> float:
    from panel.types import FeatureLimits, ServerCreateSpec, ServerLimits

    with sb.state.lock:
        alloc = next(a for a in sb.state.allocations.values() if a["server_id"] is None)
    spec = ServerCreateSpec(
        name="foreground",
        user_id=1,
        egg_id=3,
        docker_image="ghcr.io/pterodactyl/yolks:java_21",
        startup="java -jar server.jar",
        environment={"SERVER_JARFILE": "server.jar", "BUILD_NUMBER": "latest"},
        limits=ServerLimits(memory=1024, swap=0, disk=1024, io=500, cpu=100),
        feature_limits=FeatureLimits(),
        external_id=f"foreground-{alloc['id']}",
        allocation_id=alloc["id"],
    )
    began = time.perf_counter()
    client.server_create(spec)
    return time.perf_counter() - began


def real_time(sb: Any) -> dict[str, Any]:
    from django.db import close_old_connections

    from core.duties import Duty, Scheduler
    from core.models import DutyLease, PanelBudget
    from panel.client import PanelClient
    from provisioning import duties

    fg = PanelClient.from_settings()  # provisioning's client: its own throttle, no pace
    idle = []
    for _ in range(IDLE_CREATES):
        idle.append(create_latency(sb, fg))
        time.sleep(0.05)
    base = statistics.median(idle)
    duty = Duty("panel_sync", "PANEL_SYNC_INTERVAL_SECONDS", duties.panel_sync_duty)

    def scheduler_start() -> Scheduler:
        DutyLease.objects.filter(name="panel_sync").update(last_started_at=None, expires_at=None)
        PanelBudget.objects.update(next_at=0)  # its first call goes at once
        sched = Scheduler([duty])
        sched.start(poll_seconds=0.02)
        while not DutyLease.objects.filter(name="panel_sync", expires_at__isnull=False).exists():
            time.sleep(0.005)
        return sched

    after_start = []
    for _ in range(AFTER_START_CREATES):
        sched = scheduler_start()
        after_start.append(create_latency(sb, fg))  # right after the pass started
        sched.stop(timeout=30)
        close_old_connections()
    sched = scheduler_start()
    random_moments = []
    t0 = time.monotonic()
    for at in sorted(rng.uniform(1, 20) for _ in range(RANDOM_CREATES)):
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        random_moments.append(create_latency(sb, fg))
    sched.stop(timeout=30)
    fg.close()
    return {
        "idle_p50_ms": round(base * 1000, 1),
        "idle_max_ms": round(max(idle) * 1000, 1),
        "random_max_ms": round(max(random_moments) * 1000, 1),
        "after_start_max_ms": round(max(after_start) * 1000, 1),
        "added_delay_max_s": round(max(0.0, max(random_moments + after_start) - base), 3),
    }


def run_size(size: int) -> dict[str, Any]:
    from catalog.services import catalog_load_demo
    from catalog.sync import catalog_sync
    from core.secrets import secret_set
    from panel.client import PanelClient
    from sandbox.panel import PanelSandbox

    tables_clear()
    clock = SimClock()
    sb = PanelSandbox(fleet_seed(size), clock=clock)
    ids = servers_insert(sb, size)
    url = sb.serve()
    secret_set(name="panel.PANEL_URL", value=url)
    secret_set(name="panel.PANEL_APP_KEY", value=sb.app_key)
    sb.faults.rate_limit = 1_000_000
    with PanelClient(url, sb.app_key) as client:
        catalog_sync(client=client)
    catalog_load_demo()
    orders = orders_insert(ids)
    sb.faults.rate_limit = LIMIT
    sb.reset_counters()
    try:
        sim = simulated(size, sb, clock, orders)
        real = real_time(sb)
    finally:
        sb.shutdown()
    return {"servers": size, **sim, **real}


def main() -> None:
    os.environ["PANEL_RATE_LIMIT_PER_MINUTE"] = str(LIMIT)
    os.environ["PANEL_BACKGROUND_SHARE"] = str(SHARE)
    common.db_create()
    from django.conf import settings

    settings.PANEL_RATE_LIMIT_PER_MINUTE, settings.PANEL_BACKGROUND_SHARE = LIMIT, SHARE
    started = time.monotonic()
    rows = []
    for size in SIZES:
        row = run_size(size)
        rows.append(row)
        print(row, flush=True)
        common.write_result("fleet_bench", {"rows": rows, "partial": True})
    budget = LIMIT * SHARE
    print(
        f"\nBudget {budget:.0f} background calls/min ({SHARE:.0%} of {LIMIT}/min), "
        f"{budget * 60:.0f}/h at most"
    )
    head = (
        f"{'servers':>8} {'calls/h':>8} {'max/60s':>8} {'share':>6} {'pass min':>9} "
        f"{'detect min':>10} {'idle ms':>8} {'random ms':>9} {'after-start ms':>14} {'added s':>8}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['servers']:>8} {r['calls_per_hour']:>8} {r['max_60s']:>8} "
            f"{r['max_60s_share_pct']:>5}% {r['pass_minutes']:>9} {r['detect_minutes']!s:>10} "
            f"{r['idle_p50_ms']:>8} {r['random_max_ms']:>9} {r['after_start_max_ms']:>14} "
            f"{r['added_delay_max_s']:>8}"
        )
    common.write_result(
        "fleet_bench",
        {
            "limit_per_minute": LIMIT,
            "background_share": SHARE,
            "nodes": NODES,
            "ports_per_node": PORTS,
            "rows": rows,
            "seconds": round(time.monotonic() - started, 1),
        },
    )


if __name__ == "__main__":
    main()
