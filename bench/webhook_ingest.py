"""(a) Webhook ingestion on gunicorn + MariaDB: signed checkout.session.completed events, each
marking a real pending order paid (and queueing its provisioning), against a floor view that
only verifies the signature. Usage: python bench/webhook_ingest.py"""

from __future__ import annotations

import os

import common

N = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "3000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
RATE = 200
RATE_SECONDS = 10
# One sync worker per core: on 2 cores shared with MariaDB and the load generator, more
# workers only add context switches (measured: 2 workers 424/s, 4 309/s, 8 383/s).
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str(os.cpu_count() or 2)))


def main() -> None:
    common.db_create()
    from django.conf import settings

    from billing.models import Order, StripeEvent

    common.panel_start()  # the catalogue the orders point at
    fixed_n = RATE * RATE_SECONDS
    ids = common.orders_seed(N + fixed_n, customers=50, tag="w")
    secret = settings.STRIPE_WEBHOOK_SECRET
    events = [
        common.signed_event(i, f"cs_bench_w_{k}", n=0, secret=secret) for k, i in enumerate(ids)
    ]
    gunicorn, port = common.gunicorn_start(workers=WORKERS)
    try:
        # Warm every gunicorn worker (imports, DB connection) on both views.
        common.load_closed(port, "/bench/webhook-floor", events[:200], CONCURRENCY)
        floor = common.load_closed(port, "/bench/webhook-floor", events[:N], CONCURRENCY)
        real = common.load_closed(port, "/api/stripe/webhook", events[:N], CONCURRENCY)
        fixed = common.load_fixed_rate(port, "/api/stripe/webhook", events[N:], RATE)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    paid = Order.objects.filter(status="paid").count()
    stored = StripeEvent.objects.count()
    ratio = real["per_second"] / floor["per_second"]
    print(f"machine: {common.machine()}")
    print(f"floor (verify only):   {floor}")
    print(f"webhook (full path):   {real}")
    print(f"ratio webhook/floor:   {ratio:.2f}")
    print(f"fixed {RATE}/s:          {fixed}")
    print(f"orders paid: {paid} / {N + fixed_n}; events stored: {stored}")
    common.write_result(
        "webhook_ingest",
        {
            "events": N,
            "concurrency": CONCURRENCY,
            "gunicorn_workers": WORKERS,
            "floor": floor,
            "webhook": real,
            "ratio": round(ratio, 3),
            "fixed_rate": {"rate": RATE, **fixed},
            "orders_paid": paid,
            "events_stored": stored,
            "targets": {
                "ratio>=0.8": ratio >= 0.8,
                ">=500/s": real["per_second"] >= 500,
                "p99<100ms@200/s": fixed["p99_ms"] < 100,
            },
        },
    )


if __name__ == "__main__":
    main()
