"""Helpers of the billing-proof tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from testkit import run_worker

from accounts.models import User
from billing.models import Order
from sandbox.stripe import StripeSandbox

MONTHLY_PRICE = "price_mc4_month"


class Browser:
    """A signed-in customer whose requests pass Django's CSRF check the way a browser's do:
    the csrftoken cookie plus the X-CSRFToken header (Client(enforce_csrf_checks=True))."""

    def __init__(self, email: str) -> None:
        self.user = User.objects.create_user(
            email, "pw-for-tests-1", first_name="Test", last_name="Customer"
        )
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(self.user)
        request = RequestFactory().get("/")
        self.token = get_token(request)
        self.client.cookies["csrftoken"] = request.META["CSRF_COOKIE"]

    def post(self, path: str, body: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        headers = {"X-CSRFToken": self.token} if csrf else {}
        return self.client.post(
            path, data=json.dumps(body or {}), content_type="application/json", headers=headers
        )

    def form(self, path: str, data: dict[str, Any], *, csrf: bool = True) -> Any:
        return self.client.post(
            path, data={**data, **({"csrfmiddlewaretoken": self.token} if csrf else {})}
        )


def buy(browser: Browser, sb: StripeSandbox, plan: str = "minecraft-2gb", **kw: Any) -> Order:
    """Checkout through the API, pay on the sandbox, run the worker: a provisioned order."""
    body = {"plan": plan, "region": "us-east", "server_name": "Alice's SMP", **kw}
    response = browser.post("/api/checkout/session", body)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    sb.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned", (order.status, order.error_message)
    return order


def order_snapshot(order: Order) -> dict[str, Any]:
    """Every column of the order, to prove an event changed nothing."""
    fresh = Order.objects.get(pk=order.pk)
    return {
        f.attname: getattr(fresh, f.attname)
        for f in Order._meta.concrete_fields
        if f.attname != "updated_at"
    }
