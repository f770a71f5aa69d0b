"""Every dashboard figure, exactly, on the fixed shop of fixtures.py (console/dashboard.py)."""

from __future__ import annotations

import pytest
from fixtures import NOW, build_shop

from billing.models import Order
from console import dashboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return build_shop()


def test_sales_windows(shop):
    windows = dashboard.sales_windows(now=NOW)
    got = [(w.label, w.orders, w.revenue_cents) for w in windows]
    assert got == [
        ("today", 2, {"eur": 500, "usd": 1000}),
        ("7 days", 3, {"eur": 500, "usd": 13000}),
        ("30 days", 5, {"eur": 500, "usd": 14500}),
    ]


def test_sales_by_day(shop):
    days = dashboard.sales_by_day(now=NOW)
    assert len(days) == 30
    assert days[0]["day"] == "2026-05-17" and days[-1]["day"] == "2026-06-15"
    non_zero = {d["day"]: (d["orders"], d["revenue_cents"]) for d in days if d["orders"]}
    assert non_zero == {
        "2026-05-26": (1, 1000),
        "2026-06-05": (1, 500),
        "2026-06-12": (1, 12000),
        "2026-06-15": (2, 1500),
    }


def test_mrr_and_churn(shop):
    r = dashboard.recurring_revenue(now=NOW)
    # A 1000 + B 12000/12 + D (past_due, still billed) 1000 + I 1000; E ended.
    assert r.mrr_cents == {"usd": 4000}
    assert r.subscriptions == 4
    # Live 30 days ago: E and I; E ended 5 days ago.
    assert (r.churned_30d, r.churn_rate_30d) == (1, 0.5)


def test_no_subscriptions_no_churn_rate(db):
    r = dashboard.recurring_revenue(now=NOW)
    assert (r.mrr_cents, r.subscriptions, r.churned_30d, r.churn_rate_30d) == ({}, 0, 0, None)


def test_servers_by_state(shop):
    assert dashboard.servers_by_state() == {
        "pending": 1,
        "paid": 0,
        "provisioning": 0,
        "provisioned": 4,
        "error": 1,
        "suspended": 1,
        "cancelled": 0,
        "terminated": 1,
        "refunded": 0,
    }


def test_provisioning_time_and_failure_rate(shop):
    p = dashboard.provisioning_stats(now=NOW)
    # Provisioned in the window: A 60 s, D 90 s, B 120 s, C 300 s (nearest rank).
    assert (p.p50_seconds, p.p95_seconds, p.provisioned_30d) == (90, 300, 4)
    assert (p.paid_30d, p.failed_30d, p.failure_rate_30d) == (5, 1, 0.2)


def test_percentile_nearest_rank():
    assert dashboard._percentile([], 50) is None
    assert dashboard._percentile([7.0], 95) == 7.0
    values = [float(v) for v in range(1, 21)]
    assert (dashboard._percentile(values, 50), dashboard._percentile(values, 95)) == (10, 19)


def test_alerts(shop):
    a = dashboard.alert_counts()
    assert (a.open, a.unacknowledged) == (2, 1)


def test_worker_and_duties(shop):
    w = dashboard.worker_health(now=NOW)
    assert (w.heartbeat_age_seconds, w.queue_ready, w.queue_oldest_age_seconds) == (30, 0, None)
    assert [(d.name, d.age_seconds, d.overdue, d.last_error) for d in w.duties] == [
        ("panel_sync", 2000, True, "PanelRetryableError: 502"),
        ("reconcile", 10, False, ""),
    ]


def test_queue_depth_counts_waiting_tasks(shop):
    from provisioning.services import provisioning_enqueue

    provisioning_enqueue(order_id=shop["F"].pk)
    provisioning_enqueue(order_id=shop["F"].pk, delay_seconds=3600)
    assert dashboard.worker_health(now=NOW).queue_ready == 2


def test_node_fill(shop):
    got = [
        (f.name, f.memory_used, f.memory_total, f.disk_used, f.disk_total, f.ports_used,
         f.ports_total, f.memory_pct, f.disk_pct, f.ports_pct)
        for f in dashboard.node_fill()
    ]  # fmt: skip
    assert got == [
        # panel 1024 + A (provisioned after the sync) 2048 + F (error, holds its port) 1024
        ("ny-1", 4096, 4096.0, 10000, 20000.0, 3, 4, 100.0, 50.0, 75.0),
        # 2048 x 1.5 overallocation; G (pending) holds 1024; C is in the panel's sums
        ("ny-2", 1024, 3072.0, 3000, 10000.0, 2, 2, 33.3, 30.0, 100.0),
    ]


def test_region_fill(shop):
    got = [
        (f.name, f.memory_used, f.memory_total, f.ports_used, f.ports_total, f.memory_pct)
        for f in dashboard.region_fill()
    ]
    assert got == [
        ("New York", 5120, 7168.0, 5, 6, 71.4),
        ("Frankfurt", 0, 0, 0, 0, None),
    ]


def test_dashboard_page_shows_the_figures(shop, admin_client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    Order.objects.filter(pk=shop["A"].pk).update(paid_at=None)  # keep 'today' honest below
    html = admin_client.get("/admin/").content.decode()
    assert 'id="chart-sales"' in html and 'id="dash-charts"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "Open alerts" in html and 'data-figure="alerts"' in html
    assert "ny-1" in html and "New York" in html
