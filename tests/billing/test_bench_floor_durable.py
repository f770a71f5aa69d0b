"""The durable webhook floor bench/webhook_ingest.py measures (issue 18): the signature check
and one committed INSERT of the event row, nothing else; a bad signature writes nothing."""

from __future__ import annotations

import json
import time

import pytest
from django.test import RequestFactory

from billing.events import PINNED_API_VERSION
from billing.models import Order, StripeEvent
from billing.views import stripe_webhook_floor_durable
from sandbox.stripe import signature_header

pytestmark = pytest.mark.django_db


def _event(event_id: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "created": 1_796_000_000,
            "livemode": False,
            "api_version": PINNED_API_VERSION,
            "data": {"object": {"id": "cs_test_floor", "object": "checkout.session"}},
        }
    ).encode()


def _sign(body: bytes, secret: str) -> str:
    return signature_header(body.decode(), int(time.time()), secret)


def _post(body: bytes, signature: str) -> int:
    request = RequestFactory().post(
        "/bench/webhook-floor-durable",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )
    return stripe_webhook_floor_durable(request).status_code


def test_signed_event_is_stored_once_and_not_acted_on(settings):
    body = _event("evt_floor_1")
    assert _post(body, _sign(body, settings.STRIPE_WEBHOOK_SECRET)) == 200
    row = StripeEvent.objects.get()
    assert (row.event_id, row.type, row.status, row.note) == (
        "evt_floor_1",
        "checkout.session.completed",
        "ignored",
        "floor",
    )
    assert row.api_version == PINNED_API_VERSION
    assert row.object_id == "cs_test_floor"
    assert Order.objects.count() == 0


def test_bad_signature_writes_nothing(settings):
    body = _event("evt_floor_2")
    forged = _sign(body, "whsec_not_ours")
    assert _post(body, forged) == 400
    assert _post(body, "t=1,v1=00") == 400
    assert StripeEvent.objects.count() == 0
