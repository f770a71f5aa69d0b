"""Shared fixtures: the two sandboxes on loopback, the demo catalogue synced from the panel
sandbox, customers, and helpers that drive the real webhook view and the real worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from testkit import make_customer

from accounts.models import User
from catalog.demo import stripe_prices
from catalog.services import catalog_load_demo
from catalog.sync import catalog_sync
from core.secrets import secret_set
from panel.client import PanelClient
from sandbox.panel import PanelSandbox
from sandbox.stripe import StripeSandbox


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`pytest -n 2 --dist loadfile` (see pyproject.toml), except that the whole fault suite
    (tests/faults) is one unit on one worker: its tests time real worker processes against
    bounds (a duty taken over within its lease plus slack, all kill points reached in 120 s),
    so two of them must not compete for the machine's cores with each other."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FaultSuiteTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/faults" if path.startswith("tests/faults/") else path

    return FaultSuiteTogether(config, log)


@pytest.fixture(autouse=True)
def _checkout_limits_lifted(request: pytest.FixtureRequest, settings: Any) -> None:
    """Most tests buy many servers as one customer to test something else; the per-customer
    hold cap (CHECKOUT_MAX_UNPAID) and the checkout rate limit are lifted for them. Tests
    marked `checkout_limits` (tests/storefront/test_holds.py...) keep the real defaults."""
    if request.node.get_closest_marker("checkout_limits"):
        return
    settings.CHECKOUT_MAX_UNPAID = 1000
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "checkout": "100000/m/user,100000/m/ip",
    }


@pytest.fixture
def panel_sandbox() -> Iterator[PanelSandbox]:
    """A fresh panel sandbox (bundled demo seed) over real HTTP on 127.0.0.1."""
    sb = PanelSandbox.from_seed()
    sb.url = sb.serve()  # type: ignore[attr-defined]
    try:
        yield sb
    finally:
        sb.shutdown()


@pytest.fixture
def panel_configured(db: None, panel_sandbox: PanelSandbox) -> PanelSandbox:
    """The sandbox's URL and key stored in the secrets table, exactly as an operator would."""
    secret_set(name="panel.PANEL_URL", value=panel_sandbox.url)  # type: ignore[attr-defined]
    secret_set(name="panel.PANEL_APP_KEY", value=panel_sandbox.app_key)
    secret_set(name="panel.PANEL_CLIENT_KEY", value=panel_sandbox.client_key)
    return panel_sandbox


@pytest.fixture
def catalog(panel_configured: PanelSandbox) -> PanelSandbox:
    """Eggs, nodes and allocations synced from the panel sandbox, plus the demo plans."""
    with PanelClient.from_settings() as client:
        catalog_sync(client=client)
    catalog_load_demo()
    panel_configured.reset_counters()
    return panel_configured


class WebhookPoster:
    """Delivers Stripe sandbox events to the real webhook view through Django's test client
    (with CSRF checks on, as in production)."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.responses: list[Any] = []

    def __call__(self, body: str, signature: str) -> int:
        response = self.client.post(
            "/api/stripe/webhook",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        self.responses.append(response)
        return response.status_code


@pytest.fixture
def webhook_poster() -> WebhookPoster:
    return WebhookPoster()


@pytest.fixture
def stripe_sandbox(webhook_poster: WebhookPoster, settings: Any) -> Iterator[StripeSandbox]:
    sb = StripeSandbox(
        api_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        deliver=webhook_poster,
        prices=stripe_prices(),
    )
    url = sb.serve()
    settings.STRIPE_API_BASE = url
    try:
        yield sb
    finally:
        sb.shutdown()


@pytest.fixture
def customer(db: None) -> tuple[User, Client]:
    return make_customer("alice@example.com")
