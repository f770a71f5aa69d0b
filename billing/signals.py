"""What billing tells the layers above it, without importing them.

Provisioning sits above billing (it reads billing's models and follows billing's policy,
billing.lifecycle), so billing never imports provisioning: it sends these signals and
provisioning's AppConfig.ready() connects the receivers that queue the work
(provisioning/apps.py). The receivers run inside the sender's transaction and queue their
task with it (core.queue.enqueue_in_transaction: on commit), exactly as a direct call would.
The layering and its contracts: docs/architecture.md.
"""

from __future__ import annotations

from django.dispatch import Signal

# The order was marked paid just now (kwargs: order_id). Provisioning queues the server's
# creation.
order_paid = Signal()

# What Stripe says about the order's subscription, charge or dispute changed, or the customer
# asked Stripe for a change (kwargs: order_id). Provisioning queues a billing sync, which
# re-reads Stripe and makes the panel agree (provisioning/lifecycle.py).
order_billing_changed = Signal()


def receivers_missing() -> list[str]:
    """The signals nobody listens to: an order paid with no receiver would never be
    provisioned, so billing's system check (billing/apps.py) reports them."""
    return [
        name
        for name, signal in (
            ("order_paid", order_paid),
            ("order_billing_changed", order_billing_changed),
        )
        if not signal.has_listeners()
    ]
