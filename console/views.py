"""The dashboard: unfold's DASHBOARD_CALLBACK (settings.UNFOLD) adds the figures to the admin
index's context; templates/admin/index.html draws them. Thin: one selector call."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from console.dashboard import dashboard_figures


def _money(cents_by_currency: dict[str, int]) -> str:
    if not cents_by_currency:
        return "0.00"
    return " + ".join(f"{c / 100:,.2f} {cur.upper()}" for cur, c in cents_by_currency.items())


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f} %"


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    d = dashboard_figures()
    context["dash"] = d
    context["dash_text"] = {
        "sales": [(w.label, w.orders, _money(w.revenue_cents)) for w in d.sales],
        "mrr": _money(d.recurring.mrr_cents),
        "churn": _pct(d.recurring.churn_rate_30d),
        "p50": _duration(d.provisioning.p50_seconds),
        "p95": _duration(d.provisioning.p95_seconds),
        "failure_rate": _pct(d.provisioning.failure_rate_30d),
        "heartbeat": _duration(d.worker.heartbeat_age_seconds),
        "queue_oldest": _duration(d.worker.queue_oldest_age_seconds),
        "duties": [
            (x.name, _duration(x.age_seconds), x.overdue, x.last_error) for x in d.worker.duties
        ],
    }
    # The charts' data, read by console/static/console/dashboard.js through json_script.
    context["dash_charts"] = {
        "days": [r["day"][5:] for r in d.by_day],
        "orders": [r["orders"] for r in d.by_day],
        "revenue": [r["revenue_cents"] / 100 for r in d.by_day],
        "states": {k: v for k, v in d.states.items() if v},
        "nodes": {
            "names": [f.name for f in d.nodes],
            "memory": [f.memory_pct or 0 for f in d.nodes],
            "disk": [f.disk_pct or 0 for f in d.nodes],
            "ports": [f.ports_pct or 0 for f in d.nodes],
        },
    }
    context["alerts_url_open"] = "/admin/core/alert/?state=open"
    return context
