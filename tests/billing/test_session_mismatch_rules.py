"""The rules a paid session must meet (billing.services.session_mismatch), case by case and
as a property: a discount or tax passes only when its setting is on, and never lets a session
pay less than the order's price before the discount."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from billing.models import Order
from billing.services import session_mismatch
from catalog.models import Plan

PRICE = "price_test"


def _order(recurring: str = "") -> Order:
    plan = Plan(slug="p", recurring_interval=recurring, stripe_price_id=PRICE)
    return Order(plan=plan, amount_cents=1500, currency="usd", stripe_price_id=PRICE)


def _session(
    *, subtotal: int = 1500, total: int | None = None, discount: int = 0, tax: int = 0, **kw: Any
) -> dict[str, Any]:
    return {
        "mode": "payment",
        "currency": "usd",
        "amount_subtotal": subtotal,
        "amount_total": subtotal - discount + tax if total is None else total,
        "total_details": {"amount_discount": discount, "amount_tax": tax, "amount_shipping": 0},
        "line_items": {"data": [{"price": {"id": PRICE}, "quantity": 1}]},
        **kw,
    }


@pytest.mark.parametrize(
    ("session", "promotions", "tax", "why"),
    [
        (_session(), False, False, ""),
        (_session(currency="USD"), False, False, ""),
        (_session(discount=500), False, False, "a discount of 500, but promotion codes are off"),
        (_session(discount=500), True, False, ""),
        (_session(tax=300), False, False, "tax of 300, but automatic tax is off"),
        (_session(tax=300), False, True, ""),
        (_session(tax=300, total=1500), False, True, ""),  # inclusive tax
        (_session(discount=500, tax=200), True, True, ""),
        (
            _session(subtotal=1, total=1),
            True,
            True,
            "paid 1 USD (minor units) (subtotal 1, discount 0, tax 0), the order costs "
            "1500 USD (minor units)",
        ),
        (
            _session(discount=500, total=900),
            True,
            False,
            "paid 900 USD (minor units) (subtotal 1500, discount 500, tax 0), the order costs "
            "1500 USD (minor units)",
        ),
        (
            _session(line_items={"data": [{"price": {"id": PRICE}, "quantity": 2}]}),
            False,
            False,
            f"line items {PRICE} x2, the order is 1 x {PRICE}",
        ),
        (
            _session(line_items={"data": []}),
            False,
            False,
            f"line items none, the order is 1 x {PRICE}",
        ),
    ],
)
def test_rules(settings, session, promotions, tax, why):
    settings.STRIPE_ALLOW_PROMOTION_CODES = promotions
    settings.STRIPE_AUTOMATIC_TAX = tax
    assert session_mismatch(order=_order(), session=session) == why


def test_subscription_order_needs_subscription_mode(settings):
    assert session_mismatch(order=_order("month"), session=_session(mode="subscription")) == ""
    assert session_mismatch(order=_order("month"), session=_session()) == (
        "mode payment, the order needs subscription"
    )


@hsettings(max_examples=200, deadline=None)
@given(
    subtotal=st.integers(0, 10_000),
    total=st.integers(0, 10_000),
    discount=st.integers(0, 10_000),
    tax=st.integers(0, 10_000),
    promotions=st.booleans(),
    automatic_tax=st.booleans(),
)
def test_no_session_pays_less_than_allowed(
    subtotal, total, discount, tax, promotions, automatic_tax
):
    from django.conf import settings

    settings.STRIPE_ALLOW_PROMOTION_CODES = promotions
    settings.STRIPE_AUTOMATIC_TAX = automatic_tax
    try:
        session = _session(subtotal=subtotal, total=total, discount=discount, tax=tax)
        accepted = session_mismatch(order=_order(), session=session) == ""
    finally:
        settings.STRIPE_ALLOW_PROMOTION_CODES = False
        settings.STRIPE_AUTOMATIC_TAX = False
    if accepted:
        assert subtotal == 1500
        assert discount == 0 or promotions
        assert tax == 0 or automatic_tax
        assert total in (1500 - discount + tax, 1500 - discount)
