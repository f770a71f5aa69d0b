"""POST /api/servers/provision: internal token or staff only; idempotent; 409 otherwise.

Every client here enforces CSRF checks, as a real server does (Django's test client skips
them by default, which hid a 403 "CSRF check Failed" where the API promises 401)."""

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


MISSING = "Send Authorization: Bearer <INTERNAL_API_TOKEN>, or log in as staff."
INVALID = "The bearer token is not valid for this API."


def anonymous() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, MISSING),
        ({"Authorization": "Bearer wrong-token"}, INVALID),
        ({"Authorization": "Bearer "}, INVALID),
        ({"Authorization": "Basic dGVzdDp0ZXN0"}, INVALID),
        ({"Authorization": "Bearer test-internal-token-but-longer"}, INVALID),
        ({"Authorization": "Bearer \u00e9\U0001f600"}, INVALID),
    ],
)
def test_without_the_token_401_and_nothing_queued(pending_order, headers, detail):
    Order.objects.filter(pk=pending_order.pk).update(status="paid")
    response = anonymous().post(
        "/api/servers/provision",
        data=json.dumps({"order_id": pending_order.pk}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json() == {"detail": detail, "code": "unauthenticated"}
    assert response["WWW-Authenticate"] == 'Bearer realm="givrwrld-internal"'
    assert Order.objects.get(pk=pending_order.pk).status == "paid"
    assert DBTaskResult.objects.count() == 0


def test_a_customer_session_is_not_enough(pending_order):
    Order.objects.filter(pk=pending_order.pk).update(status="paid")
    _, client = make_customer("mallory@example.com")
    response = _post(client, pending_order.pk)
    assert response.status_code == 401
    assert response.json() == {"detail": MISSING, "code": "unauthenticated"}
    assert DBTaskResult.objects.count() == 0


def test_a_staff_session_without_the_csrf_token_is_refused(pending_order):
    """A logged-in session is what CSRF protects: without the token it is 403, not 202."""
    Order.objects.filter(pk=pending_order.pk).update(status="error")
    staff, _ = make_customer("ops@example.com")
    staff.is_staff = True
    staff.save()
    client = anonymous()
    client.force_login(staff)
    response = _post(client, pending_order.pk)
    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF check Failed"}
    assert Order.objects.get(pk=pending_order.pk).status == "error"
    assert DBTaskResult.objects.count() == 0


def test_paid_order_is_queued_202_idempotent(pending_order):
    Order.objects.filter(pk=pending_order.pk).update(status="paid")
    # The token alone is enough: no CSRF cookie, no session (a machine calls this route).
    first = _post(anonymous(), pending_order.pk, TOKEN)
    second = _post(anonymous(), pending_order.pk, TOKEN)
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
    response = _post(anonymous(), pending_order.pk, TOKEN)
    assert response.status_code == 409
    assert Order.objects.get(pk=pending_order.pk).status == status
    assert DBTaskResult.objects.count() == 0


def test_unknown_order_404(db):
    assert _post(anonymous(), 999999, TOKEN).status_code == 404
