"""Provisioning's answers to billing's signals (billing/signals.py), connected in
ProvisioningConfig.ready(). Billing sits below provisioning and cannot call these functions
itself (docs/architecture.md); the receivers run in the sender's transaction and the tasks are
queued on its commit, as the direct calls were."""

from __future__ import annotations

from typing import Any


def on_order_paid(*, order_id: int, **_: Any) -> None:
    from provisioning.services import provisioning_enqueue

    provisioning_enqueue(order_id=order_id)


def on_order_billing_changed(*, order_id: int, **_: Any) -> None:
    from provisioning.lifecycle import billing_sync_enqueue

    billing_sync_enqueue(order_id=order_id)


def connect() -> None:
    from billing.signals import order_billing_changed, order_paid

    # dispatch_uid: connecting twice (ready() run again) must not queue the work twice.
    order_paid.connect(on_order_paid, dispatch_uid="provisioning.on_order_paid")
    order_billing_changed.connect(
        on_order_billing_changed, dispatch_uid="provisioning.on_order_billing_changed"
    )
