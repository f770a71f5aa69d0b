"""The one place that talks to Stripe (the only module that imports `stripe`).

Nothing from the SDK leaks out: callers get plain dicts and our own exceptions.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import Any

import stripe
from django.conf import settings

from core.errors import ConfigurationError, Unavailable

logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300


class WebhookSignatureInvalid(Exception):
    """Missing, forged or stale Stripe-Signature, or a body that is not a Stripe event."""


class StripeRefused(Exception):
    """Stripe refused the request (4xx): our configuration or parameters are wrong."""


@functools.cache
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    base_addresses: dict[str, str | None] = {"api": api_base} if api_base else {}
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,  # type: ignore[arg-type]
        http_client=stripe.RequestsClient(timeout=timeout),
        # The SDK reuses one idempotency key across its own retries, so these are safe.
        max_network_retries=2,
    )


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise ConfigurationError("STRIPE_SECRET_KEY is not set.")
    return _client(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS
    )


def _call(what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        result = fn(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        logger.warning("Stripe %s failed: %s", what, exc.user_message or exc.__class__.__name__)
        raise Unavailable(
            "The payment provider could not be reached. Please try again in a minute."
        ) from exc
    except stripe.StripeError as exc:
        logger.error("Stripe refused %s: %s", what, exc.user_message or exc)
        raise StripeRefused(str(exc.user_message or exc)) from exc
    return dict(result.to_dict())


def checkout_session_create(*, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    return _call(
        "checkout session create",
        client().v1.checkout.sessions.create,
        params,  # type: ignore[arg-type]
        {"idempotency_key": idempotency_key},
    )


def checkout_session_retrieve(*, session_id: str, line_items: bool = False) -> dict[str, Any]:
    """The session; with `line_items`, its line items too (expandable, not returned by
    default: Stripe API, "Retrieve a Checkout Session", expand[]=line_items)."""
    if not line_items:
        return _call(
            "checkout session retrieve", client().v1.checkout.sessions.retrieve, session_id
        )
    return _call(
        "checkout session retrieve",
        client().v1.checkout.sessions.retrieve,
        session_id,
        {"expand": ["line_items"]},
    )


def checkout_session_expire(*, session_id: str) -> dict[str, Any]:
    return _call("checkout session expire", client().v1.checkout.sessions.expire, session_id)


def _not_json(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259) though Python reads them; Stripe never sends
    # them, and the event row's JSON column would refuse them.
    raise ValueError(f"{name} is not JSON")


def webhook_event_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Verify `Stripe-Signature` over the raw body and return the event as a plain dict."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise ConfigurationError("STRIPE_WEBHOOK_SECRET is not set.")
    if not signature:
        raise WebhookSignatureInvalid("Missing Stripe-Signature header.")
    try:
        # The SDK's own check (HMAC over the raw body, every v1, 300 s tolerance), then one
        # json.loads: building a StripeObject only to turn it back into a dict cost more than
        # the rest of the webhook's work.
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload, parse_constant=_not_json)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc
    except ValueError as exc:  # signed, but not JSON
        raise WebhookSignatureInvalid(f"Invalid payload: {exc}") from exc
    if not isinstance(event, dict) or event.get("object") != "event":
        raise WebhookSignatureInvalid("Invalid payload: not a Stripe event")
    if _SURROGATE_ESCAPE.search(payload) and not _unicode_ok(event):
        raise WebhookSignatureInvalid("Invalid payload: a string is not valid Unicode")
    return event


# A "\ud800" escape without its pair reads as a lone surrogate: not Unicode text (RFC 8259
# section 8.2), which no text column and no MariaDB JSON column accepts. Stripe never sends
# one; the cheap search keeps the full check off the hot path.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _unicode_ok(event: dict[str, Any]) -> bool:
    try:
        json.dumps(event, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def subscription_retrieve(*, subscription_id: str) -> dict[str, Any]:
    return _call(
        "subscription retrieve",
        client().v1.subscriptions.retrieve,
        subscription_id,
        {"expand": ["latest_invoice"]},
    )


def subscription_update(
    *, subscription_id: str, params: dict[str, Any], idempotency_key: str
) -> dict[str, Any]:
    return _call(
        "subscription update",
        client().v1.subscriptions.update,
        subscription_id,
        params,  # type: ignore[arg-type]
        {"idempotency_key": idempotency_key},
    )


def charge_retrieve(*, charge_id: str) -> dict[str, Any]:
    return _call("charge retrieve", client().v1.charges.retrieve, charge_id)


def dispute_retrieve(*, dispute_id: str) -> dict[str, Any]:
    return _call("dispute retrieve", client().v1.disputes.retrieve, dispute_id)


def invoice_payments_for_payment_intent(*, payment_intent_id: str) -> list[dict[str, Any]]:
    """The invoice payments made by a PaymentIntent, each with its invoice expanded: how a
    subscription's charge leads back to its subscription. Since API 2025-03-31.basil the
    PaymentIntent no longer names its invoice; the invoice payment does (Stripe API,
    "List all payments for an invoice": filter payment[type]=payment_intent and
    payment[payment_intent]; stripe/_invoice_payment_service.py in the SDK)."""
    page = _call(
        "invoice payments list",
        client().v1.invoice_payments.list,
        {
            "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
            "expand": ["data.invoice"],
            "limit": 10,
        },
    )
    return list(page.get("data") or [])


def webhook_endpoints_list() -> list[dict[str, Any]]:
    """Every webhook endpoint of the account (Stripe allows at most 16, so one page of 100)."""
    page = _call("webhook endpoints list", client().v1.webhook_endpoints.list, {"limit": 100})
    return list(page.get("data") or [])


def webhook_endpoint_create(
    *, url: str, enabled_events: list[str], api_version: str, description: str
) -> dict[str, Any]:
    """The response is the only time Stripe shows the endpoint's signing `secret`."""
    return _call(
        "webhook endpoint create",
        client().v1.webhook_endpoints.create,
        {
            "url": url,
            "enabled_events": enabled_events,  # type: ignore[typeddict-item]
            "api_version": api_version,  # type: ignore[typeddict-item]
            "description": description,
        },
    )


def webhook_endpoint_update(*, endpoint_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """`api_version` cannot be changed on an existing endpoint (Stripe API, "Update a webhook
    endpoint": url, enabled_events, description, disabled, metadata only)."""
    return _call(
        "webhook endpoint update",
        client().v1.webhook_endpoints.update,
        endpoint_id,
        params,  # type: ignore[arg-type]
    )


def webhook_endpoint_delete(*, endpoint_id: str) -> dict[str, Any]:
    return _call("webhook endpoint delete", client().v1.webhook_endpoints.delete, endpoint_id)


def invoice_preview(*, subscription_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """What the subscription's next invoice would be with `items` changed, prorations
    included (Stripe API, "Create a preview invoice": POST /v1/invoices/create_preview with
    subscription and subscription_details; stripe/_invoice_service.py create_preview in the
    SDK). Nothing is changed or charged."""
    return _call(
        "invoice preview",
        client().v1.invoices.create_preview,
        {
            "subscription": subscription_id,
            "subscription_details": {
                "items": items,  # type: ignore[typeddict-item]
                "proration_behavior": "create_prorations",
            },
        },
    )


# --- the operator console: refunds, cancel now, products and prices (docs/console.md) -------


def refund_create(
    *, payment_intent: str = "", charge: str = "", reason: str, idempotency_key: str
) -> dict[str, Any]:
    """A full refund of a charge or of a PaymentIntent's charge (Stripe API: refunds.create;
    stripe/_refund_service.py in the SDK). `reason`: duplicate, fraudulent or
    requested_by_customer."""
    params: dict[str, Any] = {"reason": reason}
    if charge:
        params["charge"] = charge
    else:
        params["payment_intent"] = payment_intent
    return _call(
        "refund create",
        client().v1.refunds.create,
        params,  # type: ignore[arg-type]
        {"idempotency_key": idempotency_key},
    )


def subscription_cancel(*, subscription_id: str, idempotency_key: str) -> dict[str, Any]:
    """Cancel at once, no proration (Stripe API: DELETE /v1/subscriptions/{id})."""
    return _call(
        "subscription cancel",
        client().v1.subscriptions.cancel,
        subscription_id,
        {},
        {"idempotency_key": idempotency_key},
    )


def product_create(*, name: str, metadata: dict[str, str], idempotency_key: str) -> dict[str, Any]:
    """Stripe API: products.create (stripe/_product_service.py)."""
    return _call(
        "product create",
        client().v1.products.create,
        {"name": name, "metadata": metadata},
        {"idempotency_key": idempotency_key},
    )


def price_create(
    *,
    product: str,
    unit_amount: int,
    currency: str,
    recurring_interval: str,
    idempotency_key: str,
) -> dict[str, Any]:
    """Stripe API: prices.create (stripe/_price_service.py). A Price's amount cannot change
    once made, so a new price is a new Price object; `recurring_interval` '' = one-off."""
    params: dict[str, Any] = {"product": product, "unit_amount": unit_amount, "currency": currency}
    if recurring_interval:
        params["recurring"] = {"interval": recurring_interval}
    return _call(
        "price create",
        client().v1.prices.create,
        params,  # type: ignore[arg-type]
        {"idempotency_key": idempotency_key},
    )


def billing_portal_session_create(*, customer_id: str, return_url: str) -> dict[str, Any]:
    """A Customer Portal session (Stripe API, "Create a portal session":
    ``billing_portal.sessions.create``, stripe/billing_portal/_session.py in the SDK): a
    short-lived ``url`` where the customer updates the card and downloads invoices, with a
    link back to ``return_url``. Uses the account's default portal configuration."""
    return _call(
        "billing portal session create",
        client().v1.billing_portal.sessions.create,
        {"customer": customer_id, "return_url": return_url},
    )


def payment_intent_retrieve(*, payment_intent_id: str) -> dict[str, Any]:
    """The PaymentIntent with its ``latest_charge`` expanded (Stripe API, "Retrieve a
    PaymentIntent"; the Charge carries ``receipt_url``)."""
    return _call(
        "payment intent retrieve",
        client().v1.payment_intents.retrieve,
        payment_intent_id,
        {"expand": ["latest_charge"]},
    )
