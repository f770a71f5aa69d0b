"""Tasks are thin: load by id, call the service."""

from __future__ import annotations

from django_tasks import task

from provisioning.services import order_provision


@task()
def provision_order(order_id: int) -> str:
    return order_provision(order_id=order_id)


@task()
def worker_tick() -> str:
    """Retired: periodic work now runs under duty leases (provisioning/duties.py). Kept so a
    tick row queued by an older version drains harmlessly instead of failing to import."""
    return "retired"


@task()
def sync_order_billing(order_id: int, attempt: int = 1) -> str:
    from provisioning.lifecycle import order_billing_sync

    return order_billing_sync(order_id=order_id, attempt=attempt)
