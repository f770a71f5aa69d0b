"""Make the panel agree with billing: suspend, unsuspend, delete, apply a plan change.

The order's status changes only after the panel confirmed the call, so an order never shows
'suspended' (or 'terminated') while its server still runs. A retryable panel failure (Wings
down: 504, timeouts, 5xx, 429) is retried with backoff; the order stays as it was meanwhile.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.lifecycle import (
    ACTIVE,
    SUSPENDED,
    TERMINATED,
    order_billing_refresh,
    order_desired_state,
    termination_warn,
    termination_warning_due,
)
from billing.models import Order, OrderPort, OrderStatus
from billing.ports import order_environment_ports, order_extras
from billing.transitions import order_note, order_transition
from catalog.models import Allocation
from catalog.services import port_extras_claim
from core import clock
from core.alerts import alert_send
from core.errors import Unavailable
from core.models import Alert
from core.queue import enqueue_in_transaction
from panel.client import PanelClient
from panel.errors import PanelError, PanelNotFoundError, PanelRetryableError
from provisioning.services import (
    backoff_seconds,
    plan_feature_limits,
    plan_limits,
    server_environment_update,
)

logger = logging.getLogger(__name__)

ACTOR = "billing"
SYNC_TASK_PATH = "provisioning.tasks.sync_order_billing"


def billing_sync_enqueue(*, order_id: int, delay_seconds: float = 0) -> None:
    """Queue a billing sync for the order, unless one is already waiting (a burst of events,
    or the tick finding an order whose retry is already scheduled, needs one sync, not many:
    each would make its own panel calls)."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from provisioning.tasks import sync_order_billing

    waiting = DBTaskResult.objects.filter(
        task_path=SYNC_TASK_PATH,
        status=TaskResultStatus.READY,
        args_kwargs__kwargs__order_id=order_id,
    )
    if waiting.exists():
        return

    task = sync_order_billing
    if delay_seconds > 0:
        task = task.using(run_after=timezone.now() + timedelta(seconds=delay_seconds))
    enqueue_in_transaction(task, order_id=order_id)


def order_billing_sync(
    *, order_id: int, attempt: int = 1, client: PanelClient | None = None
) -> str:
    """Refresh the order from Stripe, then bring its server into the state billing asks for.
    Returns what was done."""
    try:
        order = order_billing_refresh(order_id=order_id)
    except Unavailable:
        billing_sync_enqueue(order_id=order_id, delay_seconds=backoff_seconds(attempt=attempt))
        return "stripe unavailable, retry queued"
    if order.status not in (OrderStatus.PROVISIONED, OrderStatus.SUSPENDED):
        return f"order is {order.status}"
    now = clock.now()
    desired = order_desired_state(order, now)
    own = client is None
    try:
        client = client or PanelClient.from_settings()
        done = _apply(order=order, client=client, state=desired.state, reason=desired.reason)
        if order.build_pending and desired.state != TERMINATED:
            _apply_build(order=order, client=client)
            done = f"{done}, build applied"
    except PanelRetryableError as exc:
        if attempt >= settings.PROVISION_MAX_ATTEMPTS:
            # The worker's tick finds the order again (its state still differs) and retries;
            # the operator hears about it once an hour, not at every tick.
            title = f"Order #{order.pk}: could not make the server {desired.state}"
            if not Alert.objects.filter(
                order_id=order.pk, title=title, created_at__gt=timezone.now() - timedelta(hours=1)
            ).exists():
                alert_send(
                    title=title,
                    body=f"Billing says the server should be {desired.state} ({desired.reason}); "
                    f"the panel failed {attempt} times, last: {exc}. The order stays "
                    f"'{order.status}'; the worker keeps trying every few minutes.",
                    order_id=order.pk,
                )
            return f"panel unavailable after {attempt} tries: {exc}"
        delay = backoff_seconds(attempt=attempt, retry_after=exc.retry_after)
        with transaction.atomic():
            order_note(
                order=order, actor=ACTOR, reason=f"panel failed ({exc}); retry in {delay:.0f}s"
            )
            _enqueue_retry(order_id=order_id, attempt=attempt + 1, delay=delay)
        return f"panel unavailable, retry queued: {exc}"
    except PanelError as exc:
        alert_send(
            title=f"Order #{order.pk}: could not make the server {desired.state}",
            body=f"Billing says the server should be {desired.state} ({desired.reason}) but the "
            f"panel refused: {exc}. Fix it in the panel; the order stays '{order.status}'.",
            order_id=order.pk,
        )
        return f"panel refused: {exc}"
    finally:
        if own and client is not None:
            client.close()
    if termination_warning_due(order, desired, now) and desired.terminate_at is not None:
        termination_warn(order=order, terminate_at=desired.terminate_at)
        done = f"{done}, termination warning sent"
    return done


def _enqueue_retry(*, order_id: int, attempt: int, delay: float) -> None:
    from provisioning.tasks import sync_order_billing

    task = sync_order_billing.using(run_after=timezone.now() + timedelta(seconds=delay))
    enqueue_in_transaction(task, order_id=order_id, attempt=attempt)


def _apply(*, order: Order, client: PanelClient, state: str, reason: str) -> str:
    server_id = order.ptero_server_id
    assert server_id is not None
    if state == SUSPENDED and order.status == OrderStatus.PROVISIONED:
        client.server_suspend(server_id=server_id)
        order_transition(
            order_id=order.pk,
            allowed_from=(OrderStatus.PROVISIONED,),
            to=OrderStatus.SUSPENDED,
            actor=ACTOR,
            reason=reason,
            updates={"suspended_reason": reason},
        )
        return "suspended"
    if state == ACTIVE and order.status == OrderStatus.SUSPENDED:
        client.server_unsuspend(server_id=server_id)
        order_transition(
            order_id=order.pk,
            allowed_from=(OrderStatus.SUSPENDED,),
            to=OrderStatus.PROVISIONED,
            actor=ACTOR,
            reason=reason,
            updates={"suspended_reason": ""},
        )
        return "unsuspended"
    if state == TERMINATED:
        try:
            client.server_delete(server_id=server_id)
        except PanelNotFoundError:
            pass  # already gone: the goal is reached
        order_transition(
            order_id=order.pk,
            allowed_from=(OrderStatus.PROVISIONED, OrderStatus.SUSPENDED),
            to=OrderStatus.TERMINATED,
            actor=ACTOR,
            reason=reason,
            # The panel freed the port; give it back to the catalogue.
            updates={"allocation": None, "suspended_reason": ""},
        )
        return "terminated"
    return "no change"


def _apply_build(*, order: Order, client: PanelClient) -> None:
    """PATCH build with the order's (new) plan: the full body the panel requires. The ports
    follow the new plan's port template (catalog/ports.py): the primary and every slot both
    templates share are kept, new slots are claimed first (held by the order before the panel
    is asked, so a retry reuses them), slots the new template drops are released once the
    panel let them go, and the port variables are set to the result."""
    order = Order.objects.select_related("plan__egg", "allocation__node").get(pk=order.pk)
    plan = order.plan
    assert order.ptero_server_id is not None and order.allocation is not None
    template = plan.ports()
    held = order_extras(order=order)
    missing = [slot for slot in template.slots if slot not in held]
    if missing:
        keep = {slot: a.pk for slot, a in held.items() if slot in template.slots}

        def add(extras: dict[str, Allocation]) -> bool:
            OrderPort.objects.bulk_create(
                [OrderPort(order=order, slot=s, allocation=extras[s]) for s in missing]
            )
            return True

        if port_extras_claim(plan=plan, primary=order.allocation, have=keep, claim=add) is None:
            # order_change_plan checked the ports before charging; someone took them since.
            # build_pending stays set: the next sync tries again.
            alert_send(
                title=f"Order #{order.pk}: no ports for the new plan",
                body=f"No free ports on {order.allocation.node.name} for the {plan.name} "
                f"plan's port template ({', '.join(missing)}): add allocations in the panel "
                "and run panel_sync; the plan change is applied on the next sync.",
                order_id=order.pk,
            )
            return
        held = order_extras(order=order)
    dropped = {slot: a for slot, a in held.items() if slot not in template.slots}
    client.server_update_build(
        server_id=order.ptero_server_id,
        allocation_id=order.allocation.ptero_allocation_id,
        limits=plan_limits(plan),
        feature_limits=plan_feature_limits(plan),
        add_allocations=[held[slot].ptero_allocation_id for slot in template.slots],
        remove_allocations=[a.ptero_allocation_id for a in dropped.values()],
    )
    OrderPort.objects.filter(order=order, slot__in=list(dropped)).delete()
    ports = order_environment_ports(order=order, template=template)
    if ports:
        server = client.server_get(server_id=order.ptero_server_id)
        if any(server.environment.get(k) != v for k, v in ports.items()):
            server_environment_update(
                client=client, server=server, egg=plan.egg, changes=ports, skip_scripts=True
            )
    Order.objects.filter(pk=order.pk).update(build_pending=False)
    order_note(order=order, actor=ACTOR, reason=f"panel build set to plan {plan.slug}")


def billing_scan() -> list[int]:
    """Queue a sync for every order whose time-driven state changed (the worker's tick)."""
    from billing.lifecycle import orders_needing_sync

    due = orders_needing_sync(clock.now())
    for order_id in due:
        billing_sync_enqueue(order_id=order_id)
    return due
