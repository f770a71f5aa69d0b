"""Stripe events: record once, then act.

The view has already verified the signature. Here the event is stored under its unique id
(a second delivery finds the row and does nothing) and routed by type. Handlers are
idempotent on their own too, because Stripe may send two distinct events for one change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from billing.events import HANDLED_EVENTS, PINNED_API_VERSION
from billing.lifecycle import (
    Noted,
    on_charge_refunded,
    on_dispute_event,
    on_invoice_event,
    on_subscription_event,
)
from billing.models import Order, StripeEvent, StripeEventStatus
from billing.services import checkout_session_close, checkout_session_fulfil
from core.alerts import alert_send
from core.models import Alert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: StripeEventStatus
    note: str = ""
    order: Order | None = None


@dataclass(frozen=True)
class EventResult:
    duplicate: bool
    status: str
    note: str = ""


# Malformed events. A signature proves who sent the body, not that it has the shape of an
# event: a mangled event must not answer 500 (Stripe retries a non-2xx answer for three days,
# and a malformed body never improves). The rules:
# - no usable id (missing, not a string, empty, over the column's 255 characters, or not
#   valid UTF-8): the view answers 400 and writes nothing, as there is no key to record the
#   body under once;
# - an id but a bad envelope (see event_shape_problem): stored IGNORED with the reason,
#   answered 200, not acted on;
# - a good envelope whose object a handler cannot read (Python's data-shape errors, below):
#   stored FAILED with the error, an operator alerted, answered 200. Errors of other kinds
#   (the database, Stripe unreachable) still answer 500: those are worth Stripe's retry.
SHAPE_ERRORS: tuple[type[Exception], ...] = (
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    ValueError,  # UnicodeError is one
    OverflowError,
)


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from a "\ud800" escape
        return False
    return True


def event_id_usable(value: Any) -> bool:
    """The one key an event is recorded under (StripeEvent.event_id, 255 characters)."""
    return isinstance(value, str) and 0 < len(value) <= 255 and _utf8(value)


def event_shape_problem(event: dict[str, Any]) -> str:
    """Why the envelope cannot be read as a Stripe event ("" when it can). Field types as
    in the Stripe API reference (the Event object) and the SDK's stripe/_event.py: `type`
    and `api_version` strings, `created` a Unix timestamp, `livemode` a boolean,
    `data.object` the object the event is about, with a string `id`."""
    problems: list[tuple[str, type | tuple[type, ...], str]] = [
        ("type", str, "a string"),
        ("api_version", (str, type(None)), "a string"),
        ("livemode", (bool, type(None)), "a boolean"),
    ]
    for name, kinds, what in problems:
        if name == "type" and name not in event:
            return "type is missing"
        value = event.get(name)
        if not isinstance(value, kinds):
            return f"{name} is not {what}"
        if isinstance(value, str) and not _utf8(value):
            return f"{name} is not valid UTF-8"
    created = event.get("created")
    if created is not None and (
        isinstance(created, bool)
        or not isinstance(created, int)
        or not 0 <= created < 2**37  # within datetime's range, year 6325 at most
    ):
        return "created is not a whole number"
    data = event.get("data")
    if not isinstance(data, dict):
        return "data is not an object"
    obj = data.get("object")
    if not isinstance(obj, dict):
        return "data.object is not an object"
    object_id = obj.get("id")
    if object_id is not None and not isinstance(object_id, str):
        return "data.object.id is not a string"
    if isinstance(object_id, str) and not _utf8(object_id):
        return "data.object.id is not valid UTF-8"
    return ""


def _on_session_paid(event: dict[str, Any]) -> Outcome:
    result = checkout_session_fulfil(
        session=event["data"]["object"], actor=f"webhook {event['id']}"
    )
    if result.order is None or result.refused:
        return Outcome(StripeEventStatus.IGNORED, result.note, result.order)
    return Outcome(StripeEventStatus.PROCESSED, result.note, result.order)


def _on_session_closed_unpaid(event: dict[str, Any]) -> Outcome:
    result = checkout_session_close(
        session=event["data"]["object"], actor=f"webhook {event['id']}", reason=event["type"]
    )
    if result.order is None:
        return Outcome(StripeEventStatus.IGNORED, result.note)
    return Outcome(StripeEventStatus.PROCESSED, result.note, result.order)


def _lifecycle(handler: Callable[[dict[str, Any]], Noted]) -> Callable[[dict[str, Any]], Outcome]:
    def run(event: dict[str, Any]) -> Outcome:
        noted = handler(event)
        if noted.order is None:
            return Outcome(StripeEventStatus.IGNORED, noted.note)
        return Outcome(StripeEventStatus.PROCESSED, noted.note, noted.order)

    return run


_HANDLERS: dict[str, Callable[[dict[str, Any]], Outcome]] = {
    "checkout.session.completed": _on_session_paid,
    "checkout.session.async_payment_succeeded": _on_session_paid,
    "checkout.session.async_payment_failed": _on_session_closed_unpaid,
    "checkout.session.expired": _on_session_closed_unpaid,
    # The billing lifecycle: each of these only queues a sync that re-reads Stripe.
    "customer.subscription.created": _lifecycle(on_subscription_event),
    "customer.subscription.updated": _lifecycle(on_subscription_event),
    "customer.subscription.deleted": _lifecycle(on_subscription_event),
    "customer.subscription.paused": _lifecycle(on_subscription_event),
    "customer.subscription.resumed": _lifecycle(on_subscription_event),
    "invoice.paid": _lifecycle(on_invoice_event),
    "invoice.payment_failed": _lifecycle(on_invoice_event),
    "charge.refunded": _lifecycle(on_charge_refunded),
    "charge.dispute.created": _lifecycle(on_dispute_event),
    "charge.dispute.closed": _lifecycle(on_dispute_event),
}
# The dispatcher, stripe_setup and doctor share one list (billing.events); a handler without
# its event there, or the reverse, is a bug caught at import.
if set(_HANDLERS) != set(HANDLED_EVENTS):  # pragma: no cover - a programming error
    raise RuntimeError("billing.webhooks handlers and billing.events.HANDLED_EVENTS differ")
HANDLERS = {name: _HANDLERS[name] for name in HANDLED_EVENTS}


def _version_alert(api_version: str) -> None:
    """One alert per foreign API version, however many events arrive at it."""
    title = f"Stripe events arrive at API version {api_version or '(none)'}"
    if Alert.objects.filter(title=title).exists():
        return
    body = (
        f"A webhook endpoint sends events rendered at API version {api_version or '(none)'}, "
        f"but this installation reads {PINNED_API_VERSION}. Those events are stored and not "
        "acted on. Fix: run `manage.py stripe_setup` (it recreates this installation's "
        "endpoint at the right version and prints the new signing secret for "
        "STRIPE_WEBHOOK_SECRET), then replay the stored events from the Stripe Dashboard."
    )
    # After commit, so a rolled-back duplicate delivery alerts nobody.
    transaction.on_commit(lambda: alert_send(title=title, body=body))


def _handle(event: dict[str, Any]) -> Outcome:
    problem = event_shape_problem(event)
    if problem:
        return Outcome(StripeEventStatus.IGNORED, f"malformed event: {problem}")
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return Outcome(StripeEventStatus.IGNORED, "not handled")
    api_version = str(event.get("api_version") or "")
    if api_version != PINNED_API_VERSION:
        # Another version renders objects differently (e.g. an invoice without
        # parent.subscription_details): acting on it would misread it.
        _version_alert(api_version)
        return Outcome(
            StripeEventStatus.WRONG_VERSION,
            f"API version {api_version or '(none)'} is not {PINNED_API_VERSION}: stored, not "
            "acted on (run `manage.py stripe_setup`)",
        )
    try:
        with transaction.atomic():  # a savepoint: a half-done handler leaves nothing
            return handler(event)
    except SHAPE_ERRORS as exc:
        raise _Unreadable(exc) from exc


class _Unreadable(Exception):
    """A handler could not read the event's object (a data-shape error, see SHAPE_ERRORS)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(repr(cause))
        self.cause = cause


# A stored event in one of these states is handled again when it comes back.
_REPROCESSED = (StripeEventStatus.FAILED, StripeEventStatus.WRONG_VERSION)


def stripe_event_process(*, event: dict[str, Any]) -> EventResult:
    """Handle one verified event and store it, once. Raises if a handler fails (the view
    answers 500 so Stripe retries); the failure is recorded and the next delivery processes
    it again.

    The hot path is one transaction: the handler's writes, then the event row. Its unique
    event id is the duplicate check: a second delivery's INSERT fails, which rolls back
    whatever its (idempotent) handler did, and it is answered as a duplicate."""
    try:
        with transaction.atomic():
            outcome = _handle(event)
            StripeEvent.objects.create(
                **_row_fields(event, outcome.status), note=outcome.note[:2000], order=outcome.order
            )
            return EventResult(duplicate=False, status=outcome.status, note=outcome.note)
    except _Unreadable as exc:
        return _record_unreadable(event=event, exc=exc)
    except IntegrityError:
        existing = StripeEvent.objects.filter(event_id=event["id"]).first()
        if existing is None:
            raise
        if existing.status not in _REPROCESSED:
            return EventResult(duplicate=True, status=existing.status)
        return _reprocess_failed(event=event)
    except Exception as exc:
        _record_failure(event=event, exc=exc)
        raise


def _reprocess_failed(*, event: dict[str, Any]) -> EventResult:
    """An event whose earlier handling failed (or that came at another API version): handle
    it again, under the row's lock; the row keeps the latest payload."""
    try:
        with transaction.atomic():
            row = StripeEvent.objects.select_for_update().get(event_id=event["id"])
            if row.status not in _REPROCESSED:
                return EventResult(duplicate=True, status=row.status)
            outcome = _handle(event)
            row.status, row.error, row.order = outcome.status, "", outcome.order
            row.note = outcome.note[:2000]
            row.payload = event
            row.api_version = _column(event.get("api_version"), 64)
            row.save(update_fields=["status", "error", "order", "note", "payload", "api_version"])
            return EventResult(duplicate=False, status=outcome.status, note=outcome.note)
    except _Unreadable as exc:
        return _record_unreadable(event=event, exc=exc)
    except Exception as exc:
        _record_failure(event=event, exc=exc)
        raise


def _record_failure(*, event: dict[str, Any], exc: Exception) -> None:
    logger.exception("Stripe event %s (%s) failed", event.get("id"), event.get("type"))
    # Outside the rolled-back transaction: the failure stays visible to operators.
    fields = _row_fields(event, StripeEventStatus.FAILED)
    StripeEvent.objects.update_or_create(
        event_id=fields.pop("event_id"), defaults={**fields, "error": repr(exc)[:2000]}
    )


def _record_unreadable(*, event: dict[str, Any], exc: _Unreadable) -> EventResult:
    """Stored FAILED (reprocessable from the admin, and by a later delivery) and answered
    200: Stripe's retries would fail the same way. The operator hears of it once per event."""
    logger.warning(
        "Stripe event %s (%s): its object cannot be read: %r",
        event.get("id"),
        event.get("type"),
        exc.cause,
    )
    note = f"malformed event: its object cannot be read ({exc.cause!r})"[:2000]
    fields = _row_fields(event, StripeEventStatus.FAILED)
    event_id = fields.pop("event_id")
    StripeEvent.objects.update_or_create(
        event_id=event_id, defaults={**fields, "note": note, "error": repr(exc.cause)[:2000]}
    )
    title = f"Stripe event {event_id} could not be read"
    transaction.on_commit(
        lambda: alert_send(
            title=title,
            body=f"{note}. The event is stored (status failed); reprocess it from the admin "
            "once the cause is understood.",
        )
    )
    return EventResult(duplicate=False, status=StripeEventStatus.FAILED, note=note)


def _column(value: Any, limit: int) -> str:
    """A value fit for a text column: strings only, valid UTF-8, cut to the column's size."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8")[:limit]


def _row_fields(event: dict[str, Any], status: StripeEventStatus) -> dict[str, Any]:
    # Any envelope, malformed ones included (the row then says why it was not acted on).
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    created = event.get("created")
    when = None
    if isinstance(created, int) and not isinstance(created, bool) and 0 < created < 2**37:
        when = datetime.fromtimestamp(created, tz=UTC)
    return {
        "event_id": event["id"],
        "type": _column(event.get("type"), 100),
        "livemode": event.get("livemode") is True,
        "api_version": _column(event.get("api_version"), 64),
        "object_id": _column(obj.get("id") if isinstance(obj, dict) else None, 255),
        "stripe_created": when,
        "payload": event,
        "status": status,
    }
