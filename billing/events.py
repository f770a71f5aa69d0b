"""The Stripe events this product acts on: one list, read by the webhook dispatcher
(billing.webhooks), by `manage.py stripe_setup` (the endpoint's `enabled_events`), by
`manage.py doctor` (is each one enabled?) and by the test that checks docs/operators.md.

Event names: Stripe API reference, "Types of events" (stripe/_event.py in the SDK lists the
same `type` literals).
"""

from __future__ import annotations

# The API version events must be rendered at: the one the SDK is generated for and sends as
# Stripe-Version on every request (stripe/_api_version.py). An endpoint's `api_version` fixes
# the shape of the events it receives, so it must be this one too.
import stripe

PINNED_API_VERSION: str = stripe.api_version

# Where Stripe posts events: API_URL + this path (givrwrld/urls.py mounts the view here).
WEBHOOK_PATH = "/api/stripe/webhook"

HANDLED_EVENTS: tuple[str, ...] = (
    # Checkout: paid (card, or a delayed method later), or ended unpaid.
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    # The subscription's life: each queues a sync that re-reads Stripe.
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    # Renewals and dunning.
    "invoice.paid",
    "invoice.payment_failed",
    # Money taken back.
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
)
