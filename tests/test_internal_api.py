"""POST /api/servers/provision: internal token or staff only; idempotent; 409 otherwise."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult
from testkit import checkout, make_customer

from billing.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "test-internal-token"


def _post(client: Client, order_id: int, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        "/api/servers/provision",
        data=json.dumps({"order_id": order_id}),
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def pending_order(catalog, stripe_sandbox, customer) -> Order:
    _, client = customer
    return Order.objects.get(pk=checkout(client).json()["order_id"])


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_without_the_token_401_and_nothing_queued(pending_order, token):
    Order.objects.filter(pk=pending_order.pk).update(status="paid")
    response = _post(Client(), pending_order.pk, token)
    assert response.status_code == 401
    assert DBTaskResult.objects.count() == 0


def test_a_customer_session_is_not_enough(pending_order):
    Order.objects.filter(pk=pending_order.pk).update(status="paid")
    _, client = make_customer("mallory@example.com")
    assert _post(client, pending_order.pk).status_code == 401
    assert DBTaskResult.objects.count() == 0


def test_paid_order_is_queued_202_idempotent(pending_order):
    Order.objects.filter(pk=pending_order.pk).update(status="paid")
    first = _post(Client(), pending_order.pk, TOKEN)
    second = _post(Client(), pending_order.pk, TOKEN)
    assert first.status_code == second.status_code == 202
    assert first.json() == {"order_id": pending_order.pk, "status": "paid"}


def test_staff_session_works(pending_order):
    Order.objects.filter(pk=pending_order.pk).update(status="error")
    staff, client = make_customer("ops@example.com")
    staff.is_staff = True
    staff.save()
    response = _post(client, pending_order.pk)
    assert response.status_code == 202
    assert response.json()["status"] == "paid"


@pytest.mark.parametrize("status", ["pending", "provisioning", "provisioned", "cancelled"])
def test_other_statuses_409_and_unchanged(pending_order, status):
    Order.objects.filter(pk=pending_order.pk).update(status=status)
    response = _post(Client(), pending_order.pk, TOKEN)
    assert response.status_code == 409
    assert Order.objects.get(pk=pending_order.pk).status == status
    assert DBTaskResult.objects.count() == 0


def test_unknown_order_404(db):
    assert _post(Client(), 999999, TOKEN).status_code == 404
