"""Provisioning failures end in 'error' with a message an operator can act on."""

from __future__ import annotations

import pytest
from testkit import checkout, run_worker

from billing.models import Order
from catalog.models import Plan
from provisioning.models import ProvisioningAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def _paid_order(client, stripe_sandbox, **overrides) -> Order:
    response = checkout(client, **overrides)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    order.refresh_from_db()
    assert order.status == "paid"
    return order


def test_panel_422_puts_the_panels_message_on_the_order(catalog, stripe_sandbox, customer, caplog):
    # The Rust egg requires RCON_PASS and has no default: a plan that forgets to set it makes
    # the panel refuse the create (422 on environment.RCON_PASS).
    Plan.objects.filter(slug="rust-8gb").update(environment={})
    _, client = customer
    order = _paid_order(client, stripe_sandbox, plan="rust-8gb")

    run_worker()

    order.refresh_from_db()
    assert order.status == "error"
    assert "environment.RCON_PASS" in order.error_message
    assert "The RCON Password variable field is required." in order.error_message
    attempts = list(ProvisioningAttempt.objects.filter(order=order))
    assert len(attempts) == 1  # terminal: no retry loop
    assert attempts[0].outcome == "failed"
    assert attempts[0].panel_status == 422
    assert attempts[0].step == "create_server"
    assert any("ALERT Order #" in r.getMessage() for r in caplog.records)
    assert len(catalog.state.servers) == 0


def test_panel_unreachable_ends_in_error_with_a_readable_message(
    catalog, stripe_sandbox, customer, settings
):
    settings.PROVISION_MAX_ATTEMPTS = 2
    _, client = customer
    order = _paid_order(client, stripe_sandbox)
    catalog.shutdown()  # nothing listens on the panel's port any more

    run_worker()

    order.refresh_from_db()
    assert order.status == "error"
    assert order.error_message.startswith("Gave up after 2 attempts over 0 min.")
    assert "could not be reached" in order.error_message
    assert list(
        ProvisioningAttempt.objects.filter(order=order).values_list("outcome", flat=True)
    ) == [
        "retrying",
        "failed",
    ]


def test_retry_after_error_provisions(catalog, stripe_sandbox, customer, settings):
    settings.PROVISION_MAX_ATTEMPTS = 1
    Plan.objects.filter(slug="rust-8gb").update(environment={})
    _, client = customer
    order = _paid_order(client, stripe_sandbox, plan="rust-8gb")
    run_worker()
    order.refresh_from_db()
    assert order.status == "error"

    Plan.objects.filter(slug="rust-8gb").update(environment={"RCON_PASS": "{random}"})
    response = client.post(
        "/api/servers/provision",
        data={"order_id": order.pk},
        content_type="application/json",
        headers={"Authorization": "Bearer test-internal-token"},
    )
    assert response.status_code == 202
    assert response.json() == {"order_id": order.pk, "status": "paid"}
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert len(catalog.state.servers) == 1


def test_retrying_stops_when_the_order_has_waited_too_long(
    catalog, stripe_sandbox, customer, settings
):
    settings.PROVISION_MAX_AGE_SECONDS = 0  # any retryable error is now past the age limit
    _, client = customer
    order = _paid_order(client, stripe_sandbox)
    catalog.shutdown()

    run_worker()

    order.refresh_from_db()
    assert order.status == "error"
    assert order.error_message.startswith("Gave up after 1 attempt over 0 min.")
    assert ProvisioningAttempt.objects.filter(order=order).count() == 1
