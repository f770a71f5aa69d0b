"""Helpers for the observability tests: drive the real flow, read /metrics."""

from __future__ import annotations

from typing import Any

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from testkit import checkout, run_worker

from billing.models import Order

METRICS_TOKEN = "metrics-token-for-tests"


def buy_and_provision(client: Client, stripe_sandbox: Any, **overrides: Any) -> Order:
    """Checkout, pay on the Stripe sandbox (signed webhook to the real view), run the worker."""
    response = checkout(client, **overrides)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    return order


def scrape(client: Client | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics with the token; {(sample name, sorted labels): value}."""
    response = (client or Client()).get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def series(samples: dict, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}
