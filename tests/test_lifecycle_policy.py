"""order_desired_state: what billing wants the server to be, for each situation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.lifecycle import order_desired_state
from billing.models import Order

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _order(**fields) -> Order:
    base = {
        "status": "provisioned",
        "stripe_subscription_id": "sub_1",
        "subscription_status": "active",
        "current_period_end": NOW + 10 * DAY,
    }
    base.update(fields)
    return Order(**base)


@pytest.mark.parametrize(
    ("fields", "state", "reason"),
    [
        ({}, "active", "in good standing"),
        (
            {"subscription_status": "past_due", "payment_failed_at": NOW - 2 * DAY},
            "active",
            "in good standing",
        ),
        (
            {"subscription_status": "past_due", "payment_failed_at": NOW - 3 * DAY},
            "suspended",
            "payment overdue past the grace period",
        ),
        (
            {"subscription_status": "unpaid", "payment_failed_at": NOW - DAY},
            "suspended",
            "subscription unpaid",
        ),
        ({"subscription_status": "paused"}, "suspended", "subscription paused"),
        ({"cancel_at_period_end": True}, "active", "in good standing"),
        (
            {"cancel_at_period_end": True, "current_period_end": NOW - DAY},
            "suspended",
            "subscription ended",
        ),
        (
            {"subscription_status": "canceled", "subscription_ended_at": NOW - 13 * DAY},
            "suspended",
            "subscription ended",
        ),
        (
            {"subscription_status": "canceled", "subscription_ended_at": NOW - 14 * DAY},
            "terminated",
            "subscription ended; retention period over",
        ),
        ({"refunded_at": NOW}, "terminated", "payment refunded"),
        ({"dispute_status": "needs_response"}, "suspended", "payment disputed"),
        ({"dispute_status": "won"}, "active", "in good standing"),
        ({"dispute_status": "lost"}, "terminated", "dispute lost"),
        ({"stripe_subscription_id": None, "subscription_status": ""}, "active", "in good standing"),
    ],
)
def test_desired_state(fields, state, reason):
    desired = order_desired_state(_order(**fields), NOW)
    assert (desired.state, desired.reason) == (state, reason)


def test_refund_and_dispute_actions_follow_the_settings(settings):
    settings.REFUND_ACTION = "suspend"
    settings.DISPUTE_LOST_ACTION = "suspend"
    assert order_desired_state(_order(refunded_at=NOW), NOW).state == "suspended"
    assert order_desired_state(_order(dispute_status="lost"), NOW).state == "suspended"
    settings.REFUND_ACTION = "none"
    assert order_desired_state(_order(refunded_at=NOW), NOW).state == "active"


def test_ended_subscription_knows_when_it_will_be_deleted():
    ended = NOW - DAY
    desired = order_desired_state(
        _order(subscription_status="canceled", subscription_ended_at=ended), NOW
    )
    assert desired.terminate_at == ended + timedelta(days=14)
