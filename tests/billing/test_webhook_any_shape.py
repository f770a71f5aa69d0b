"""A signed event of any shape answers 2xx or 4xx, never 500, and leaves a row that says why.

Stripe retries every non-2xx answer for three days, so a 500 for a malformed event is an
alarm nobody can stop. The rule (docs/billing-lifecycle.md, "Malformed events"):
- a body with a usable event id (a non-empty string of at most 255 characters, valid UTF-8)
  is recorded under that id with its status and the reason, and answered 200 unless it could
  not be stored at all;
- a body without one (not JSON, not an object, no id, id of another type), or one that no
  column can store (NaN/Infinity, a lone surrogate escape such as "\\ud800" anywhere) answers
  400 and writes nothing.

The events are signed with the real secret (HMAC-SHA256 as Stripe signs, checked by the
stripe SDK in billing/stripe_gateway.webhook_event_verify) and posted through the real view
with CSRF checks on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import checkout

from billing.events import HANDLED_EVENTS, PINNED_API_VERSION
from billing.models import Order, StripeEvent, StripeEventStatus

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret_for_the_suite"  # settings_test's STRIPE_WEBHOOK_SECRET


def _sign(body: bytes) -> str:
    t = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _post(body: bytes) -> Any:
    return Client(enforce_csrf_checks=True).post(
        "/api/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": _sign(body)},
    )


# Every code point, lone surrogates included: json.dumps writes those as "\ud800" escapes,
# which json.loads accepts and no database column can store as text.
_any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
_text = st.text(_any_char, max_size=40) | st.sampled_from(
    ["", "x" * 300, "x" * 100_000, "\x00", "\ud800", "🎮" * 70, "cs_test_", "order"]
)
_scalar = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**18, max_value=10**40)
    | st.floats()  # NaN and ±Infinity too: json.dumps writes them, RFC 8259 has no such thing
    | _text
)
_json = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_MISSING = object()


def _field(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes junk, sometimes absent."""
    return st.one_of(good, good, _json, st.just(_MISSING))


@st.composite
def _session_object(draw: st.DrawFn, session_id: str, order_id: int) -> Any:
    """A Checkout Session as Stripe renders it, with any field mangled or missing."""
    good = {
        "id": _field(st.sampled_from([session_id, "cs_test_foreign"])),
        "object": _field(st.just("checkout.session")),
        "client_reference_id": _field(st.sampled_from([str(order_id), "999999"])),
        "metadata": _field(st.just({"order_id": str(order_id)})),
        "payment_status": _field(st.sampled_from(["paid", "unpaid", "no_payment_required"])),
        "status": _field(st.sampled_from(["complete", "open", "expired"])),
        "amount_total": _field(st.sampled_from([1000, 0, -1])),
        "currency": _field(st.sampled_from(["usd", "eur"])),
        "mode": _field(st.sampled_from(["payment", "subscription"])),
        "subscription": _field(st.sampled_from([None, "sub_x"])),
        "payment_intent": _field(st.sampled_from([None, "pi_x"])),
        "customer": _field(st.sampled_from([None, "cus_x"])),
        "invoice": _field(st.sampled_from([None, "in_x"])),
        "charge": _field(st.sampled_from([None, "ch_x"])),
    }
    obj = {key: draw(value) for key, value in good.items()}
    return {k: v for k, v in obj.items() if v is not _MISSING}


@st.composite
def _event(draw: st.DrawFn, session_id: str, order_id: int) -> dict[str, Any]:
    data_object = draw(st.one_of(_session_object(session_id, order_id), _json))
    fields = {
        "id": _field(st.sampled_from(["evt_any_shape_1", "evt_any_shape_2"]) | _text),
        "object": st.just("event"),  # else the verifier refuses it (asserted below too)
        "type": _field(st.sampled_from(HANDLED_EVENTS) | _text),
        "api_version": _field(st.just(PINNED_API_VERSION)),
        "created": _field(st.just(int(time.time()))),
        "livemode": _field(st.just(False)),
        "data": st.one_of(
            st.just({"object": data_object}),
            st.just({"object": data_object}),
            st.just({"object": data_object, "previous_attributes": draw(_json)}),
            _json,
        ),
    }
    event = {key: draw(value) for key, value in fields.items()}
    return {k: v for k, v in event.items() if v is not _MISSING}


def _usable_id(value: Any) -> bool:
    if not isinstance(value, str) or not value or len(value) > 255:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _row_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


@pytest.fixture
def pending_order(catalog: Any, stripe_sandbox: Any, customer: Any) -> Order:
    _, client = customer
    return Order.objects.get(pk=checkout(client).json()["order_id"])


def _strict_json(body: bytes) -> bool:
    def refuse(name: str) -> None:
        raise ValueError(name)

    try:
        json.dumps(json.loads(body, parse_constant=refuse), ensure_ascii=False).encode()
    except ValueError:  # NaN/Infinity, or a lone surrogate (UnicodeEncodeError)
        return False
    return True


def _check(body: bytes, event_id: Any) -> None:
    before = _row_counts()
    response = _post(body)
    assert response.status_code < 500, response.content
    if _usable_id(event_id) and _strict_json(body):
        row = StripeEvent.objects.get(event_id=event_id)
        assert row.status in StripeEventStatus.values
        if row.status != StripeEventStatus.PROCESSED:
            assert row.note or row.error, row.status
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert _row_counts() == before


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mangled_signed_event_is_answered_below_500_and_recorded(pending_order, data):
    event = data.draw(_event(pending_order.stripe_session_id, pending_order.pk))
    _check(json.dumps(event).encode(), event.get("id"))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text as a client would send it: UTF-8 (a lone surrogate cannot be encoded; raw bytes cover it).
@given(
    body=st.binary(max_size=200)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=60).map(str.encode)
)
def test_signed_body_that_is_not_an_event_is_400_and_writes_nothing(db, body):
    # Random bytes are (almost always) not a JSON object with object == "event".
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    event_id = parsed.get("id") if isinstance(parsed, dict) else None
    if isinstance(parsed, dict) and parsed.get("object") == "event" and _usable_id(event_id):
        return  # an event after all: covered by the test above
    before = _row_counts()
    response = _post(body)
    assert response.status_code == 400
    assert _row_counts() == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"object": "event", "id": "evt_\\uZZZZ"}',  # an invalid escape: not JSON
        b'{"object": "event", "id": "evt_1", ',  # truncated
        b'{"object": "event", "id": "\\ud800"}',  # a lone surrogate: no usable id
        b'{"object": "event", "id": "evt_1", "data": {"object": {"n": NaN}}}',  # not JSON
        b'{"object": "event", "id": "evt_1", "created": -Infinity}',
        b'{"object": "event", "id": "evt_1", "type": "checkout.session.completed\\udc00"}',
        b'{"object": "event", "id": ["evt_1"]}',
        b'{"object": "event"}',
        b'["object", "event"]',
        b'"event"',
        b"\xff\xfe\x00",
        b"",
    ],
)
def test_signed_body_without_a_usable_id_is_400_and_writes_nothing(db, body):
    before = _row_counts()
    response = _post(body)
    assert response.status_code == 400
    assert _row_counts() == before


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"data": {"object": "cs_123"}}, "data.object is not an object"),
        ({"data": []}, "data is not an object"),
        ({"data": {"object": {"id": 5}}}, "data.object.id is not a string"),
        ({"type": 42}, "type is not a string"),
        ({"created": "yesterday"}, "created is not a whole number"),
        ({"created": 10**30}, "created is not a whole number"),
        ({"api_version": ["x"]}, "api_version is not a string"),
    ],
)
def test_malformed_event_with_an_id_is_recorded_ignored_with_the_reason(
    pending_order, event, reason
):
    body_event = {
        "id": "evt_malformed",
        "object": "event",
        "type": "checkout.session.completed",
        "api_version": PINNED_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": pending_order.stripe_session_id}},
        **event,
    }
    response = _post(json.dumps(body_event).encode())
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False, "status": "ignored"}
    row = StripeEvent.objects.get(event_id="evt_malformed")
    assert row.status == StripeEventStatus.IGNORED
    assert row.note == f"malformed event: {reason}"
    assert row.order is None
    pending_order.refresh_from_db()
    assert pending_order.status == "pending"


def test_event_whose_object_a_handler_cannot_read_is_failed_alerted_and_answered_200(
    pending_order, django_capture_on_commit_callbacks
):
    from core.models import Alert

    body_event = {
        "id": "evt_unreadable",
        "object": "event",
        "type": "checkout.session.completed",
        "api_version": PINNED_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        # A list where Stripe sends a string: the handler's set lookup raises TypeError.
        "data": {"object": {"id": pending_order.stripe_session_id, "payment_status": ["paid"]}},
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(json.dumps(body_event).encode())
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False, "status": "failed"}
    row = StripeEvent.objects.get(event_id="evt_unreadable")
    assert row.status == StripeEventStatus.FAILED
    assert row.note == (
        "malformed event: its object cannot be read (TypeError(\"unhashable type: 'list'\"))"
    )
    assert row.error == "TypeError(\"unhashable type: 'list'\")"
    assert row.object_id == pending_order.stripe_session_id
    pending_order.refresh_from_db()
    assert pending_order.status == "pending"
    assert Alert.objects.filter(title="Stripe event evt_unreadable could not be read").count() == 1
