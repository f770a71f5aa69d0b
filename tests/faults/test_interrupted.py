"""Crashes are not failures: a try whose worker died is 'interrupted' and not counted toward
PROVISION_MAX_ATTEMPTS; the age limit (PROVISION_MAX_AGE_SECONDS) still applies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from faultkit import paid_orders

from billing.models import Order
from billing.services import checkout_session_fulfil
from core.models import Alert
from provisioning.models import ProvisioningAttempt
from provisioning.services import order_claim, order_provision

pytestmark = pytest.mark.django_db(transaction=True)


def _paid_order(client, stripe_sandbox) -> Order:
    (event,) = paid_orders(client, stripe_sandbox, 1)
    checkout_session_fulfil(session=event["data"]["object"], actor="test")
    return Order.objects.get()


def _die_mid_try(order_id: int) -> None:
    """What a SIGKILLed worker leaves: the order claimed, its try 'running', and a lease that
    nobody renews (here: already run out)."""
    claim = order_claim(order_id=order_id)
    assert claim is not None
    Order.objects.filter(pk=order_id).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_five_crashes_in_a_row_do_not_use_up_two_allowed_attempts(
    catalog, stripe_sandbox, customer, settings
):
    settings.PROVISION_MAX_ATTEMPTS = 2
    _, client = customer
    order = _paid_order(client, stripe_sandbox)
    for _ in range(5):
        _die_mid_try(order.pk)
    order.refresh_from_db()
    assert order.provisioning_attempts == 1  # the five crashes gave their count back

    catalog.faults.error_rate = 1.0  # one real failure: counted (2nd of 2 allowed would fail)
    assert order_provision(order_id=order.pk) == "provisioning"
    catalog.faults.error_rate = 0.0
    assert order_provision(order_id=order.pk) == "provisioned"

    outcomes = list(
        ProvisioningAttempt.objects.filter(order=order).values_list("outcome", flat=True)
    )
    assert outcomes == ["interrupted"] * 5 + ["retrying", "succeeded"]
    interrupted = ProvisioningAttempt.objects.filter(order=order, outcome="interrupted")
    assert all(a.finished_at is not None for a in interrupted)
    assert {a.error for a in interrupted} == {
        "The worker stopped during this try (no close recorded, lease expired)."
    }
    assert len(catalog.state.servers) == 1
    assert Alert.objects.count() == 0


def test_a_resumed_try_after_a_crash_looks_the_server_up_first(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _paid_order(client, stripe_sandbox)
    _die_mid_try(order.pk)
    catalog.reset_counters()
    assert order_provision(order_id=order.pk) == "provisioned"
    assert "GET /api/application/servers/external/{external_id}" in catalog.counters()


def test_crashes_past_the_age_limit_end_in_error_with_an_alert(
    catalog, stripe_sandbox, customer, settings
):
    settings.PROVISION_MAX_AGE_SECONDS = 3600
    _, client = customer
    order = _paid_order(client, stripe_sandbox)
    _die_mid_try(order.pk)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=2))

    assert order_provision(order_id=order.pk) == "error"
    order.refresh_from_db()
    assert order.status == "error"
    assert order.error_message.startswith("Gave up: the order has waited 120 min since payment")
    assert Alert.objects.filter(order_id=order.pk).count() == 1
    outcomes = list(
        ProvisioningAttempt.objects.filter(order=order).values_list("outcome", flat=True)
    )
    assert outcomes == ["interrupted", "failed"]
    assert catalog.state.servers == {}


def test_a_live_workers_try_is_never_marked_interrupted(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _paid_order(client, stripe_sandbox)
    claim = order_claim(order_id=order.pk)
    assert claim is not None
    assert order_claim(order_id=order.pk) is None  # lease still live: nobody else gets in
    assert ProvisioningAttempt.objects.get(order=order).outcome == "running"
