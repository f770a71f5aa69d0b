from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.models import StripeEvent, StripeEventStatus
from billing.stripe_gateway import WebhookSignatureInvalid, webhook_event_verify
from billing.webhooks import (
    _row_fields,
    event_id_usable,
    event_shape_problem,
    stripe_event_process,
)
from core.logs import log_context

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature is the authentication.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, record, acknowledge. Nothing is written before the signature checks out, and
    the panel is never called here: provisioning is queued for the worker."""
    try:
        event = webhook_event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except WebhookSignatureInvalid as exc:
        logger.warning("Refused Stripe webhook: %s", exc)
        return JsonResponse({"detail": "Invalid Stripe signature."}, status=400)
    if not event_id_usable(event.get("id")):
        # Nothing to record it under once (billing/webhooks.py, "Malformed events").
        return JsonResponse({"detail": "Not a Stripe event: no usable id."}, status=400)
    claimed_order = None
    if not event_shape_problem(event):  # a hint for the log lines only, never a key
        obj = event["data"]["object"]
        metadata = obj.get("metadata")
        hint = metadata.get("order_id") if isinstance(metadata, dict) else None
        hint = hint or obj.get("client_reference_id")
        claimed_order = hint if isinstance(hint, str) and len(hint) <= 64 else None
    with log_context(stripe_event_id=event["id"], order_id=claimed_order):
        try:
            result = stripe_event_process(event=event)
        except Exception:
            return JsonResponse({"detail": "Event could not be processed; retry."}, status=500)
        logger.info(
            "Stripe event %s: %s%s%s",
            event.get("type"),
            result.status,
            " (duplicate)" if result.duplicate else "",
            f" ({result.note})" if result.note else "",
        )
    return JsonResponse(
        {"received": True, "duplicate": result.duplicate, "status": result.status}, status=200
    )


@csrf_exempt
@require_POST
def stripe_webhook_floor(request: HttpRequest) -> HttpResponse:
    """Benchmarks only (urls.py mounts it when BENCH_FLOOR_VIEW): the webhook's signature
    check and nothing else, the floor bench/webhook_ingest.py compares the real view with."""
    try:
        webhook_event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except WebhookSignatureInvalid:
        return JsonResponse({"detail": "Invalid Stripe signature."}, status=400)
    return JsonResponse({"received": True}, status=200)


@csrf_exempt
@require_POST
def stripe_webhook_floor_durable(request: HttpRequest) -> HttpResponse:
    """Benchmarks only: the least any correct receiver does before answering 200 (issue 18):
    the signature check and one committed INSERT of the event row (the same row the real view
    stores), on the same database. No handler, no Stripe call."""
    try:
        event = webhook_event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except WebhookSignatureInvalid:
        return JsonResponse({"detail": "Invalid Stripe signature."}, status=400)
    StripeEvent.objects.create(**_row_fields(event, StripeEventStatus.IGNORED), note="floor")
    return JsonResponse({"received": True}, status=200)
