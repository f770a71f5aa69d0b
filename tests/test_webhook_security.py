"""A webhook that is not provably from Stripe is refused before anything is written."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.apps import apps
from django.test import Client
from testkit import checkout

from billing.events import PINNED_API_VERSION

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_test_secret_for_the_suite"  # settings_test's STRIPE_WEBHOOK_SECRET


def _sign(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _row_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


@pytest.fixture
def paid_event_body(catalog, stripe_sandbox, customer) -> str:
    _, client = customer
    order_id = checkout(client).json()["order_id"]
    from billing.models import Order

    session_id = Order.objects.get(pk=order_id).stripe_session_id
    event = stripe_sandbox.complete_session(session_id, deliver=False)
    return json.dumps(event)


def _post(body: str, signature: str | None) -> object:
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return Client(enforce_csrf_checks=True).post(
        "/api/stripe/webhook", data=body, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize(
    "case",
    ["forged", "wrong_secret", "stale", "missing_header", "tampered_body", "garbage_header"],
)
def test_unverifiable_webhook_is_refused_and_writes_nothing(paid_event_body, case):
    body = paid_event_body
    signature: str | None
    if case == "forged":
        signature = _sign(body).split(",v1=")[0] + ",v1=" + "0" * 64
    elif case == "wrong_secret":
        signature = _sign(body, secret="whsec_not_ours")
    elif case == "stale":
        signature = _sign(body, timestamp=int(time.time()) - 301)
    elif case == "missing_header":
        signature = None
    elif case == "tampered_body":
        signature = _sign(body)
        body = body.replace('"paid"', '"PAID"', 1)
    else:
        signature = "nonsense"
    before = _row_counts()

    response = _post(body, signature)

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid Stripe signature."}
    assert _row_counts() == before


def test_valid_signature_is_accepted(paid_event_body):
    response = _post(paid_event_body, _sign(paid_event_body))
    assert response.status_code == 200
    assert response.json()["duplicate"] is False


def test_signed_but_not_json_is_400(db):
    response = _post("not json", _sign("not json"))
    assert response.status_code == 400


def test_webhook_url_takes_post_only(db):
    assert Client().get("/api/stripe/webhook").status_code == 405


def test_event_for_someone_elses_session_is_acknowledged_and_ignored(db):
    event = {
        "id": "evt_foreign",
        "object": "event",
        "api_version": PINNED_API_VERSION,
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": "cs_test_other",
                "object": "checkout.session",
                "payment_status": "paid",
                "metadata": {},
                "client_reference_id": None,
            }
        },
    }
    body = json.dumps(event)
    response = _post(body, _sign(body))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


def test_a_session_that_is_not_the_orders_cannot_pay_for_it(catalog, stripe_sandbox, customer):
    from billing.models import Order

    _, client = customer
    order = Order.objects.get(pk=checkout(client).json()["order_id"])
    event = {
        "id": "evt_forged_reference",
        "object": "event",
        "api_version": PINNED_API_VERSION,
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": "cs_test_someone_elses",
                "object": "checkout.session",
                "payment_status": "paid",
                "status": "complete",
                "metadata": {"order_id": str(order.pk)},
                "client_reference_id": str(order.pk),
            }
        },
    }
    body = json.dumps(event)
    response = _post(body, _sign(body))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    order.refresh_from_db()
    assert order.status == "pending"
    from billing.models import StripeEvent

    row = StripeEvent.objects.get(event_id="evt_forged_reference")
    assert row.note == (
        f"Checkout Session cs_test_someone_elses is not one we created (its metadata names "
        f"order {order.pk})"
    )
