"""POST /api/checkout/session: capacity reserved, order written, session created; bad input
refused with a message and nothing written, no session created."""

from __future__ import annotations

import pytest
from django.test import Client
from testkit import checkout

from billing.models import Order
from catalog.models import Allocation

pytestmark = pytest.mark.django_db(transaction=True)


def _session_creates(stripe_sandbox) -> int:
    return sum(
        1
        for method, path in stripe_sandbox.requests
        if method == "POST" and path == "/v1/checkout/sessions"
    )


def test_needs_a_signed_in_customer(catalog, stripe_sandbox):
    response = checkout(Client())
    assert response.status_code == 401
    assert Order.objects.count() == 0
    assert _session_creates(stripe_sandbox) == 0


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"plan": "no-such-plan"}, 404, "unknown_plan"),
        ({"region": "mars"}, 404, "unknown_region"),
        ({"server_name": "   "}, 400, "invalid_server_name"),
        ({"server_name": "x" * 192}, 400, "invalid_server_name"),
        ({"variables": {"SERVER_JARFILE": "evil.sh"}}, 422, "unknown_variable"),
        ({"variables": {"MINECRAFT_VERSION": "x" * 21}}, 422, "invalid_variable"),
    ],
)
def test_bad_input_is_refused_with_nothing_written(
    catalog, stripe_sandbox, customer, overrides, status, code
):
    _, client = customer
    response = checkout(client, **overrides)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert Order.objects.count() == 0
    assert _session_creates(stripe_sandbox) == 0


def test_variable_rule_message_is_the_eggs(catalog, stripe_sandbox, customer):
    _, client = customer
    response = checkout(client, variables={"MINECRAFT_VERSION": "x" * 21})
    assert response.json()["detail"] == (
        "The Minecraft Version variable may not be greater than 20 characters."
    )


def test_sold_out_region_is_refused_before_payment(catalog, stripe_sandbox, customer):
    _, client = customer
    # Every port in Frankfurt is taken in the panel.
    Allocation.objects.filter(node__regions__slug="eu-west").update(assigned=True)
    response = checkout(client, region="eu-west")
    assert response.status_code == 409
    assert response.json()["code"] == "sold_out"
    assert "Frankfurt is sold out" in response.json()["detail"]
    assert Order.objects.count() == 0
    assert _session_creates(stripe_sandbox) == 0


def test_region_without_room_for_the_plan_is_sold_out(catalog, stripe_sandbox, customer):
    from catalog.models import Node

    _, client = customer
    Node.objects.filter(regions__slug="eu-west").update(allocated_memory=32768)
    response = checkout(client, region="eu-west")
    assert response.status_code == 409
    assert Order.objects.count() == 0


def test_each_checkout_reserves_its_own_port(catalog, stripe_sandbox, customer):
    _, client = customer
    ids = [checkout(client, server_name=f"s{i}").json()["order_id"] for i in range(3)]
    allocations = {Order.objects.get(pk=i).allocation_id for i in ids}
    assert len(allocations) == 3
    # One key per order, unique to this installation: a retry replays rather than creating a
    # second session, and another installation's order with the same number never collides.
    from billing.idempotency import installation_id

    keys = [k for k in stripe_sandbox.idempotency]
    installation = installation_id()
    assert sorted(keys) == sorted(
        f"givrwrld-{installation}-order-{i}-checkout-session-1" for i in ids
    )


def test_expired_session_releases_the_port(catalog, stripe_sandbox, customer, webhook_poster):
    _, client = customer
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    assert order.allocation_id is not None
    stripe_sandbox.expire_session(order.stripe_session_id)
    assert webhook_poster.responses[-1].status_code == 200
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.allocation_id is None


def test_stripe_down_refuses_cleanly_and_releases(catalog, stripe_sandbox, customer, settings):
    _, client = customer
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = checkout(client)
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    order = Order.objects.get()
    assert order.status == "cancelled"
    assert order.allocation_id is None


def test_port_is_taken_from_the_plans_range(catalog, stripe_sandbox, customer):
    _, client = customer
    minecraft = Order.objects.get(pk=checkout(client).json()["order_id"])
    rust = Order.objects.get(pk=checkout(client, plan="rust-8gb").json()["order_id"])
    assert minecraft.allocation.port == 25565
    assert rust.allocation.port == 28015


def test_plan_range_exhausted_is_sold_out_even_with_other_ports_free(
    catalog, stripe_sandbox, customer
):
    _, client = customer
    Allocation.objects.filter(
        node__regions__slug="eu-west", port__gte=28015, port__lte=28099
    ).update(assigned=True)
    assert checkout(client, plan="rust-8gb", region="eu-west").status_code == 409
    assert checkout(client, plan="minecraft-2gb", region="eu-west").status_code == 201
