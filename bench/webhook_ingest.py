"""(a) Webhook ingestion on gunicorn + MariaDB: signed checkout.session.completed events for
real Checkout Sessions paid in the Stripe sandbox, each marking a pending order paid (the
receiver reads the session back from Stripe, then marks the order paid and queues its
provisioning), against two floors in the same run: verify-only (the signature check), and
durable (the signature check + one committed INSERT of the event row on the same MariaDB,
what any correct receiver must pay). Usage: python bench/webhook_ingest.py"""

from __future__ import annotations

import os

import common

N = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "1000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
RATE = 200
RATE_SECONDS = int(os.environ.get("BENCH_WEBHOOK_RATE_SECONDS", "3"))
# One sync worker per core: on 2 cores shared with MariaDB and the load generator, more
# workers only add context switches (measured: 2 workers 424/s, 4 309/s, 8 383/s).
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str(os.cpu_count() or 2)))


def main() -> None:
    common.db_create()
    from django.conf import settings

    from billing.models import Order, StripeEvent

    common.panel_start()  # the catalogue the orders point at
    stripe_sb = common.stripe_start()  # before gunicorn: it inherits STRIPE_API_BASE
    fixed_n = RATE * RATE_SECONDS
    ids = common.orders_seed(N + fixed_n, customers=50, tag="w")
    secret = settings.STRIPE_WEBHOOK_SECRET
    # The floors get synthetic events of the same shape with their own ids (the durable floor
    # stores each, and an event id is unique).
    floor_events = [
        common.signed_event(i, f"cs_floor_{k}", n=1, secret=secret) for k, i in enumerate(ids[:N])
    ]
    durable_events = [
        common.signed_event(i, f"cs_floor_{k}", n=2, secret=secret) for k, i in enumerate(ids[:N])
    ]
    warm = [
        common.signed_event(i, f"cs_warm_{k}", n=3, secret=secret) for k, i in enumerate(ids[:200])
    ]
    gunicorn, port = common.gunicorn_start(workers=WORKERS)
    try:
        # Warm every gunicorn worker (imports, DB connection) on the views.
        common.load_closed(port, "/bench/webhook-floor", warm, CONCURRENCY)
        common.load_closed(port, "/bench/webhook-floor-durable", warm, CONCURRENCY)
        floor = common.load_closed(port, "/bench/webhook-floor", floor_events, CONCURRENCY)
        durable = common.load_closed(
            port, "/bench/webhook-floor-durable", durable_events, CONCURRENCY
        )
        events = common.paid_events(stripe_sb, ids[:N])  # signed now (300 s tolerance)
        real = common.load_closed(port, "/api/stripe/webhook", events, CONCURRENCY)
        events = common.paid_events(stripe_sb, ids[N:])
        fixed = common.load_fixed_rate(port, "/api/stripe/webhook", events, RATE)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        stripe_sb.shutdown()
    paid = Order.objects.filter(status="paid").count()
    stored = StripeEvent.objects.exclude(note="floor").count()
    ratio = real["per_second"] / floor["per_second"]
    ratio_durable = real["per_second"] / durable["per_second"]
    print(f"machine: {common.machine()}")
    rows = [
        ("floor (verify only)", floor),
        ("floor (verify + INSERT)", durable),
        ("webhook (full path)", real),
        (f"webhook at fixed {RATE}/s", fixed),
    ]
    print(f"{'':26} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for label, r in rows:
        print(f"{label:26} {r['per_second']:>9} {r['p50_ms']:>8} {r['p99_ms']:>8}  {r['statuses']}")
    print(f"full path / verify-only floor: {ratio:.2f}")
    print(f"full path / durable floor:     {ratio_durable:.2f} (target >= 0.80)")
    print(f"orders paid: {paid} / {N + fixed_n}; events stored: {stored}")
    common.write_result(
        "webhook_ingest",
        {
            "events": N,
            "concurrency": CONCURRENCY,
            "gunicorn_workers": WORKERS,
            "floor": floor,
            "floor_durable": durable,
            "webhook": real,
            "ratio": round(ratio, 3),
            "ratio_durable": round(ratio_durable, 3),
            "fixed_rate": {"rate": RATE, **fixed},
            "orders_paid": paid,
            "events_stored": stored,
            "targets": {
                "ratio_durable>=0.8": ratio_durable >= 0.8,
                ">=500/s": real["per_second"] >= 500,
                "p99<100ms@200/s": fixed["p99_ms"] < 100,
            },
        },
    )


if __name__ == "__main__":
    main()
