"""The seed's flow, end to end: checkout -> Stripe sandbox payment -> signed webhook ->
worker -> panel server -> dashboard API."""

from __future__ import annotations

import pytest
from django.db import connection
from testkit import checkout, make_customer, run_worker

from billing.models import Order, OrderEvent, StripeEvent
from provisioning.models import ProvisioningAttempt

pytestmark = pytest.mark.django_db(transaction=True)


def test_checkout_pay_provision_dashboard(catalog, stripe_sandbox, customer, webhook_poster):
    user, client = customer

    response = checkout(client, variables={"MINECRAFT_VERSION": "1.21.1"})
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(pk=body["order_id"])
    assert body["status"] == "pending"
    assert order.status == "pending"
    assert order.allocation is not None  # capacity reserved before the session exists
    session = stripe_sandbox.sessions[order.stripe_session_id]
    assert body["checkout_url"] == session["url"]
    assert session["client_reference_id"] == str(order.pk)
    assert session["metadata"] == {"order_id": str(order.pk)}
    assert session["customer_email"] == "alice@example.com"

    # The customer pays on the sandbox's hosted page; the signed webhook reaches our view.
    stripe_sandbox.complete_session(order.stripe_session_id)
    assert [r.status_code for r in webhook_poster.responses] == [200]
    order.refresh_from_db()
    assert order.status == "paid"
    assert catalog.counters() == {}  # the webhook never calls the panel

    run_worker()

    order.refresh_from_db()
    assert order.status == "provisioned", order.error_message
    server = catalog.state.server_by_external_id(order.panel_external_id)
    assert server is not None
    assert order.ptero_server_id == server["id"]
    assert order.ptero_identifier == server["uuid"][:8]
    assert order.server_address == f"{order.allocation.ip}:{order.allocation.port}"
    assert server["allocation_id"] == order.allocation.ptero_allocation_id
    variables = server["env"]
    assert variables["MINECRAFT_VERSION"] == "1.21.1"
    assert variables["SERVER_JARFILE"] == "server.jar"  # defaults sent, never left as ""
    user.refresh_from_db()
    assert user.pterodactyl_user_id == server["owner_id"]
    # A new customer costs two panel calls: create the user, create the server.
    assert catalog.counters() == {
        "POST /api/application/users": 1,
        "POST /api/application/servers": 1,
    }

    servers = client.get("/api/servers").json()
    assert len(servers) == 1
    assert servers[0]["order_id"] == order.pk
    assert servers[0]["status"] == "provisioned"
    assert servers[0]["address"] == order.server_address
    assert servers[0]["game"] == "Minecraft (Paper)"
    assert servers[0]["region"] == "New York"
    assert servers[0]["panel_url"].endswith(f"/server/{order.ptero_identifier}")

    transitions = list(
        OrderEvent.objects.filter(order=order).values_list("from_status", "to_status")
    )
    assert transitions == [
        ("pending", "paid"),
        ("paid", "provisioning"),
        ("provisioning", "provisioned"),
    ]
    assert ProvisioningAttempt.objects.get(order=order).outcome == "succeeded"


def test_returning_customer_costs_one_panel_call(catalog, stripe_sandbox, customer):
    _, client = customer
    for name in ("first", "second"):
        order_id = checkout(client, server_name=name).json()["order_id"]
        stripe_sandbox.complete_session(Order.objects.get(pk=order_id).stripe_session_id)
        catalog.reset_counters()
        run_worker()
    assert Order.objects.filter(status="provisioned").count() == 2
    assert catalog.counters() == {"POST /api/application/servers": 1}


def test_same_event_three_times_one_order_paid_one_server(
    catalog, stripe_sandbox, customer, webhook_poster
):
    _, client = customer
    order_id = checkout(client).json()["order_id"]
    order = Order.objects.get(pk=order_id)
    event = stripe_sandbox.complete_session(order.stripe_session_id)
    stripe_sandbox.redeliver(event["id"])
    stripe_sandbox.redeliver(event["id"])
    assert [r.status_code for r in webhook_poster.responses] == [200, 200, 200]
    assert [r.json()["duplicate"] for r in webhook_poster.responses] == [False, True, True]
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1

    run_worker()

    order.refresh_from_db()
    assert order.status == "provisioned"
    assert (
        len(
            [
                s
                for s in catalog.state.servers.values()
                if s["external_id"] == order.panel_external_id
            ]
        )
        == 1
    )
    assert len(catalog.state.servers) == 1


def test_customer_cannot_see_or_touch_another_customers_order(catalog, stripe_sandbox, customer):
    _, alice = customer
    order_id = checkout(alice).json()["order_id"]
    _, bob = make_customer("bob@example.com")
    assert bob.get("/api/servers").json() == []
    response = bob.get(f"/api/servers/{order_id}")
    assert response.status_code == 404
    assert bob.get(f"/orders/{order_id}").status_code == 404
    assert alice.get(f"/api/servers/{order_id}").status_code == 200


def test_monitoring_query_runs_unchanged(catalog, stripe_sandbox, customer):
    _, client = customer
    first, second, third = (checkout(client, server_name=n).json()["order_id"] for n in "abc")
    Order.objects.filter(pk=first).update(status="error", error_message="panel said no")
    Order.objects.filter(pk=second).update(status="provisioning")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, status, ptero_server_id, ptero_identifier, error_message\n"
            "FROM orders WHERE status IN ('provisioning', 'error') ORDER BY created_at DESC;"
        )
        rows = sorted(tuple(row) for row in cursor.fetchall())
    assert rows == [
        (first, "error", None, "", "panel said no"),
        (second, "provisioning", None, "", ""),
    ]
    assert third not in {row[0] for row in rows}
