"""(b) Provisioning throughput against the panel sandbox enforcing 240 requests/min, on a
clock running BENCH_TIME_SCALE times faster (10 by default: the panel's 60 s window lasts
6 s) so the run stays under 2 minutes. Orders are provisioned by the real service
(order_provision) with the real client's self-throttle on the same scaled clock.
Usage: python bench/provisioning_bench.py"""

from __future__ import annotations

import os
import time

import common

SCALE = float(os.environ.get("BENCH_TIME_SCALE", "10"))
LIMIT = 240
N_RETURNING = int(os.environ.get("BENCH_RETURNING", "600"))
N_NEW = int(os.environ.get("BENCH_NEW", "240"))


class ScaledClock:
    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.t0 = time.time()

    def __call__(self) -> float:
        return self.t0 + (time.time() - self.t0) * self.scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.scale)


def run(label: str, ids: list[int], sb, clock: ScaledClock) -> dict:
    from billing.models import Order, OrderStatus
    from billing.services import order_mark_paid
    from panel.client import PanelClient
    from provisioning.models import ProvisioningAttempt

    for oid in ids:
        order = Order.objects.get(pk=oid)
        order_mark_paid(
            order_id=oid,
            session={
                "id": order.stripe_session_id,
                "payment_status": "paid",
                "amount_total": 1000,
                "currency": "usd",
            },
            actor="bench",
        )
    sb.reset_counters()
    client = PanelClient(
        sb.url, sb.app_key, rate_limit_per_minute=LIMIT, clock=clock, sleep=clock.sleep
    )
    from provisioning.services import order_provision

    started = clock()
    with client:
        for oid in ids:
            order_provision(order_id=oid, client=client)
    panel_minutes = (clock() - started) / 60
    done = Order.objects.filter(pk__in=ids, status=OrderStatus.PROVISIONED).count()
    counters = sb.counters()
    calls = sum(counters.values())
    per_server = calls / max(done, 1)
    per_min = done / panel_minutes
    ceiling = LIMIT / per_server
    out = {
        "orders": len(ids),
        "provisioned": done,
        "panel_calls": counters,
        "panel_calls_per_server": round(per_server, 3),
        "servers_per_panel_minute": round(per_min, 1),
        "ceiling_per_minute": round(ceiling, 1),
        "ratio_to_ceiling": round(per_min / ceiling, 3),
        "throttle_waits": len(client.throttle.waits) if client.throttle else 0,
        # A 429 would show as a retried attempt (and as a second create call).
        "attempts_not_succeeded": ProvisioningAttempt.objects.filter(order_id__in=ids)
        .exclude(outcome="succeeded")
        .count(),
    }
    print(f"{label}: {out}")
    return out


def main() -> None:
    common.db_create()
    from panel.client import PanelClient
    from provisioning.panel_users import panel_user_ensure

    clock = ScaledClock(SCALE)
    sb = common.panel_start(clock=clock, rate_limit=LIMIT)
    returning = common.orders_seed(N_RETURNING, customers=1, reserve=True, tag="r")
    new = common.orders_seed(N_NEW, customers=N_NEW, reserve=True, tag="n")
    from billing.models import Order

    with PanelClient(sb.url, sb.app_key) as c:  # the returning customer has a panel user
        panel_user_ensure(client=c, user_id=Order.objects.get(pk=returning[0]).user_id)
    time.sleep(61 / SCALE)  # a fresh rate-limit window
    r = run("returning customers", returning, sb, clock)
    time.sleep(61 / SCALE)
    n = run("new customers", new, sb, clock)
    print(f"machine: {common.machine()}; time scale x{SCALE}; limit {LIMIT}/min")
    common.write_result(
        "provisioning",
        {
            "time_scale": SCALE,
            "rate_limit_per_minute": LIMIT,
            "returning": r,
            "new": n,
            "targets": {
                "returning>=90%_of_ceiling": r["ratio_to_ceiling"] >= 0.9,
                "calls_per_server_returning==1": r["panel_calls_per_server"] == 1,
                "calls_per_server_new==2": n["panel_calls_per_server"] == 2,
            },
        },
    )


if __name__ == "__main__":
    main()
