"""Fixtures for the billing-proof tests: the real stripe SDK against the Stripe sandbox, a
monthly plan, a signed-in customer whose requests pass the CSRF check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from billingkit import MONTHLY_PRICE, Browser

from catalog.models import Plan
from core import clock
from sandbox.stripe import StripeSandbox


@pytest.fixture
def sdk(stripe_sandbox: StripeSandbox, settings: Any) -> stripe.StripeClient:
    """The real SDK, as a second party on the same Stripe account would use it."""
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )


@pytest.fixture
def monthly(catalog: Any, stripe_sandbox: StripeSandbox, monkeypatch: Any) -> Iterator[Plan]:
    """minecraft-4gb sold as a monthly subscription at 15.00 USD; the sandbox's test clock
    is our clock."""
    monkeypatch.setattr(clock, "now", lambda: datetime.fromtimestamp(stripe_sandbox.now(), UTC))
    stripe_sandbox.add_price(
        MONTHLY_PRICE, unit_amount=1500, product_name="Minecraft 4 GB", recurring_interval="month"
    )
    Plan.objects.filter(slug="minecraft-4gb").update(
        recurring_interval="month", stripe_price_id=MONTHLY_PRICE, price_cents=1500
    )
    yield Plan.objects.get(slug="minecraft-4gb")


@pytest.fixture
def alice(db: None) -> Browser:
    return Browser("alice@example.com")
