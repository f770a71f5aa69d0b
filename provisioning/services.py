"""Paid order -> panel server, exactly once.

`order_provision` is what the worker runs for an order. It claims the order (a lease, so a
second worker leaves it alone), makes sure the customer has a panel user, creates the server
with the port reserved at checkout and an external_id derived from the order, and records the
server's ids. After any outcome it cannot be sure of (timeout, dropped connection, 5xx) it
looks the server up by external_id before trying again, and a 422 "external id has already
been taken" means the server exists: adopt it. So a retry never makes a second server.

Retryable panel errors (connection, timeout, 5xx, 429) are retried with exponential backoff and
jitter, honouring Retry-After. Terminal ones (422, 400, 403...) stop at once: the order goes to
'error' with the panel's message and an operator is alerted.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.mails import order_mail_schedule
from billing.models import Order, OrderStatus
from billing.ports import order_environment_ports, order_extras, order_ports_set
from billing.transitions import InvalidTransition, order_note, order_transition
from catalog.models import Allocation, Egg, Plan
from catalog.services import allocation_claim, allocation_mark_taken, port_extras_claim
from catalog.variables import environment_for
from core.alerts import alert_send
from core.errors import ServiceError
from core.logs import log_context_bind, with_log_context
from core.queue import enqueue_in_transaction
from panel.client import PanelClient
from panel.errors import (
    PanelError,
    PanelNotFoundError,
    PanelRetryableError,
    PanelValidationError,
)
from panel.types import FeatureLimits, PanelServer, ServerCreateSpec, ServerLimits
from provisioning.models import AttemptOutcome, ProvisioningAttempt
from provisioning.panel_users import panel_user_ensure

logger = logging.getLogger(__name__)

WORKER_ACTOR = "worker"
_ALLOCATION_SWAPS = 3


class ProvisioningFailed(Exception):
    """A terminal problem on our side (e.g. no port left): no retry will fix it."""

    def __init__(self, message: str, *, step: str):
        super().__init__(message)
        self.step = step


@dataclass
class _Progress:
    """What the attempt is doing, for the attempt row and the error message."""

    step: str = "claim"
    panel_call: str = ""


def provisioning_enqueue(*, order_id: int, delay_seconds: float = 0) -> None:
    """Queue provisioning with the current transaction (core.queue)."""
    from provisioning.tasks import provision_order

    task = provision_order
    if delay_seconds > 0:
        task = provision_order.using(run_after=timezone.now() + timedelta(seconds=delay_seconds))
    enqueue_in_transaction(task, order_id=order_id)


def provisioning_queued_order_ids() -> set[int]:
    """Orders with a provisioning task waiting in the database queue (not yet taken by a
    worker). The reconciler skips them: re-queueing an order that already waits only adds a
    duplicate, and under a backlog (a launch day, a slow panel) one duplicate per waiting
    order per pass outgrew what the workers drained (found by bench/topology_bench.py).
    Running tasks do not count: one whose worker died stays 'running' in the queue forever."""
    from django_tasks import TaskResultStatus, task_backends
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from provisioning.tasks import provision_order

    if not isinstance(task_backends[provision_order.backend], DatabaseBackend):
        return set()
    rows = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=provision_order.module_path
    ).values_list("args_kwargs", flat=True)
    ids: set[int] = set()
    for args_kwargs in rows:
        order_id = (args_kwargs or {}).get("kwargs", {}).get("order_id")
        if isinstance(order_id, int):
            ids.add(order_id)
    return ids


@dataclass(frozen=True)
class Claim:
    order: Order
    attempt: ProvisioningAttempt
    """This try's row, written with the claim: a worker killed at any line after the claim
    leaves it 'running', which is how the next claim knows the try was interrupted."""
    interrupted: int = 0
    """How many earlier tries were found cut short by a dead worker (now 'interrupted')."""


def order_claim(*, order_id: int, actor: str = WORKER_ACTOR) -> Claim | None:
    """Take the order for this worker: 'paid' -> 'provisioning', or resume a 'provisioning'
    order whose lease is free or expired. None if there is nothing to do (already done, or
    another worker holds it)."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.PROVISION_LEASE_SECONDS)
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            return None
        if order.status == OrderStatus.PROVISIONING:
            if order.lease_until is not None and order.lease_until > now:
                return None
            # A try still 'running' under an expired lease lost its worker (killed, OOM, a
            # deploy): it is interrupted, not failed, and gives its count back, so crashes in
            # a row never push a healthy order into 'error'. The age limit still applies.
            interrupted = ProvisioningAttempt.objects.filter(
                order=order, outcome=AttemptOutcome.RUNNING
            ).update(
                outcome=AttemptOutcome.INTERRUPTED,
                finished_at=now,
                error="The worker stopped during this try (no close recorded, lease expired).",
            )
            order.lease_until = lease
            order.provisioning_attempts = max(0, order.provisioning_attempts - interrupted) + 1
            order.save(update_fields=["lease_until", "provisioning_attempts", "updated_at"])
            return Claim(order, _attempt_open(order), interrupted)
        if order.status != OrderStatus.PAID:
            return None
        order = order_transition(
            order_id=order_id,
            allowed_from=(OrderStatus.PAID,),
            to=OrderStatus.PROVISIONING,
            actor=actor,
            reason="worker claimed the order",
            updates={
                "lease_until": lease,
                "provisioning_attempts": order.provisioning_attempts + 1,
            },
        ).order
        return Claim(order, _attempt_open(order))


def _attempt_open(order: Order) -> ProvisioningAttempt:
    return ProvisioningAttempt.objects.create(order=order, number=order.attempts.count() + 1)


@with_log_context("order_id")
def order_provision(*, order_id: int, client: PanelClient | None = None) -> str:
    """Run one provisioning attempt for the order. Returns the order's status afterwards."""
    claim = order_claim(order_id=order_id)
    if claim is None:
        status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
        return status or "missing"
    order, attempt = claim.order, claim.attempt
    progress = _Progress()
    if claim.interrupted and _past_max_age(order):
        _fail(
            order=order,
            attempt=attempt,
            progress=progress,
            message=f"Gave up: the order has waited {_waited(order) / 60:.0f} min since "
            "payment (PROVISION_MAX_AGE_SECONDS) and its last try was interrupted by a "
            "stopped worker. Check the workers, then retry.",
        )
        return OrderStatus.ERROR
    own_client = client is None
    try:
        if client is None:
            client = PanelClient.from_settings()
        server = _provision(
            order=order, client=client, progress=progress, resumed=attempt.number > 1
        )
        with transaction.atomic():  # no gap where the order is done and its try still 'running'
            _order_mark_provisioned(order=order, server=server)
            _attempt_close(attempt, AttemptOutcome.SUCCEEDED, progress)
        return OrderStatus.PROVISIONED
    except PanelRetryableError as exc:
        return _retry_or_fail(order=order, attempt=attempt, progress=progress, exc=exc)
    except (PanelError, ProvisioningFailed) as exc:
        if isinstance(exc, ProvisioningFailed):
            progress.step = exc.step
        _fail(
            order=order,
            attempt=attempt,
            progress=progress,
            message=_describe(exc, progress),
            exc=exc,
        )
        return OrderStatus.ERROR
    except Exception as exc:  # a bug or a broken configuration: stop loudly, never silently
        logger.exception("Provisioning order #%s crashed", order_id)
        _fail(
            order=order,
            attempt=attempt,
            progress=progress,
            message=f"Internal error at step '{progress.step}': {exc.__class__.__name__}: {exc}",
        )
        return OrderStatus.ERROR
    finally:
        if own_client and client is not None:
            client.close()


def _provision(
    *, order: Order, client: PanelClient, progress: _Progress, resumed: bool = False
) -> PanelServer:
    order = Order.objects.select_related("plan__egg", "user", "allocation__node").get(pk=order.pk)
    external_id = order.panel_external_id

    if resumed or order.provisioning_attempts > 1:
        # A previous attempt may have created the server before dying: look before creating.
        # (`resumed`: an earlier try row exists, e.g. one interrupted, whose count was given
        # back, so the attempt counter alone would not say so.)
        progress.step, progress.panel_call = "lookup", "GET /servers/external/{external_id}"
        existing = client.server_get_by_external_id(external_id=external_id)
        if existing is not None:
            return existing

    progress.step, progress.panel_call = "panel_user", "users"
    panel_user_id = panel_user_ensure(client=client, user_id=order.user_id)

    progress.step, progress.panel_call = "configuration", ""
    plan, egg = order.plan, order.plan.egg
    base_environment = environment_for(egg=egg, plan=plan, chosen=order.variables)

    for _ in range(_ALLOCATION_SWAPS):
        allocation_id, extras = _allocation_for(order=order, progress=progress)
        # The port variables name the set's ports (catalog/ports.py): a server whose variables
        # name a port it does not own would not start on Wings.
        environment = {
            **base_environment,
            **order_environment_ports(order=order, template=plan.ports()),
        }
        progress.step = "configuration"
        spec = ServerCreateSpec(
            name=order.server_name,
            user_id=panel_user_id,
            egg_id=egg.ptero_egg_id,
            docker_image=egg.docker_image,
            startup=egg.startup,
            environment=environment,
            limits=plan_limits(plan),
            feature_limits=plan_feature_limits(plan),
            external_id=external_id,
            allocation_id=allocation_id,
            additional_allocation_ids=tuple(a.ptero_allocation_id for a in extras),
            start_on_completion=plan.start_on_completion,
        )
        progress.step, progress.panel_call = "create_server", "POST /servers"
        try:
            return client.server_create(spec)
        except PanelValidationError as exc:
            if exc.has("external_id", "unique"):
                # The server exists already (our earlier attempt): adopt it.
                progress.step = "adopt"
                adopted = client.server_get_by_external_id(external_id=external_id)
                if adopted is not None:
                    return adopted
                raise
            taken = _refused_ports(exc=exc, primary=order.allocation, extras=extras)
            if taken:
                # Ports of the set were taken in the panel behind our back: take another set
                # (the whole set moves, so "+k" ports stay next to their primary).
                for allocation in taken:
                    allocation_mark_taken(allocation_id=allocation.pk)
                _allocation_swap(order=order)
                continue
            raise
        except PanelRetryableError as exc:
            if exc.outcome_unknown:
                # The create may have happened: find out before anyone tries again.
                progress.step = "lookup_after_unclear_create"
                try:
                    adopted = client.server_get_by_external_id(external_id=external_id)
                except PanelError:
                    raise exc from None
                if adopted is not None:
                    return adopted
            raise
    raise ProvisioningFailed(
        "The panel refused every port we reserved; run panel_sync and retry.", step="allocation"
    )


def plan_limits(plan: Plan) -> ServerLimits:
    """The panel's `limits` for a plan (create and build send the same)."""
    return ServerLimits(
        memory=plan.memory,
        swap=plan.swap,
        disk=plan.disk,
        io=plan.io,
        cpu=plan.cpu,
        threads=plan.threads or None,
        oom_disabled=plan.oom_disabled,
    )


def plan_feature_limits(plan: Plan) -> FeatureLimits:
    return FeatureLimits(
        databases=plan.databases, allocations=plan.allocations, backups=plan.backups
    )


def _refused_ports(
    *, exc: PanelValidationError, primary: Allocation | None, extras: list[Allocation]
) -> list[Allocation]:
    """The ports of the set a 422 says are taken (allocation.default, allocation.additional.N
    and nothing else wrong); [] when the 422 is about something else."""
    fields = [e.source_field for e in exc.errors]
    if not fields or not all(f.startswith("allocation.") for f in fields):
        return []
    taken: list[Allocation] = []
    for field in fields:
        if field == "allocation.default" and primary is not None:
            taken.append(primary)
        elif field.startswith("allocation.additional."):
            index = field.rsplit(".", 1)[1]
            if index.isdigit() and int(index) < len(extras):
                taken.append(extras[int(index)])
    return taken


def _allocation_for(*, order: Order, progress: _Progress) -> tuple[int, list[Allocation]]:
    """The order's set: its primary's panel id and its extra ports (in slot order, as sent in
    allocation.additional). The set reserved at checkout, so every retry and the adoption by
    external id see the same ports; a new set only when it was released or lacks a slot of
    the plan's template (the plan's template changed since checkout)."""
    progress.step = "allocation"
    if order.allocation is None:
        _allocation_swap(order=order)
    assert order.allocation is not None
    slots = order.plan.ports().slots
    held = order_extras(order=order)
    if any(slot not in held for slot in slots):
        done = port_extras_claim(
            plan=order.plan,
            primary=order.allocation,
            have={slot: a.pk for slot, a in held.items() if slot in slots},
            claim=lambda extras: order_ports_set(order=order, extras=extras),
        )
        if done is None and not order_extras(order=order).keys() >= set(slots):
            _allocation_swap(order=order)
        held = order_extras(order=order)
    return order.allocation.ptero_allocation_id, [held[slot] for slot in slots]


def _allocation_swap(*, order: Order) -> None:
    """Give the order a new free port set in its region (the old one is gone or was
    released)."""

    def take(allocation: Allocation, extras: dict[str, Allocation]) -> Allocation:
        Order.objects.filter(pk=order.pk).update(allocation=allocation)
        order_ports_set(order=order, extras=extras)
        return allocation

    allocation = allocation_claim(region=order.region, plan=order.plan, claim=take)
    if allocation is None:
        raise ProvisioningFailed(
            f"No free port left in region {order.region.name} for this plan: add "
            "allocations to its nodes in the panel, run panel_sync, then retry.",
            step="allocation",
        )
    order.allocation = allocation


def _order_mark_provisioned(*, order: Order, server: PanelServer) -> None:
    log_context_bind(panel_server_id=server.id)
    order.refresh_from_db()
    address = order.allocation.address if order.allocation else ""
    primary = server.primary_allocation
    if primary is not None:
        address = f"{primary.alias or primary.ip}:{primary.port}"
    result = order_transition(
        order_id=order.pk,
        allowed_from=(OrderStatus.PROVISIONING,),
        to=OrderStatus.PROVISIONED,
        actor=WORKER_ACTOR,
        reason=f"panel server {server.id} ({server.identifier})",
        updates={
            "ptero_server_id": server.id,
            "ptero_identifier": server.identifier,
            "server_address": address,
            "provisioned_at": timezone.now(),
            "lease_until": None,
            "error_message": "",
        },
    )
    logger.info(
        "Order #%s provisioned: panel server %s (%s)", order.pk, server.id, server.identifier
    )
    if result.changed:
        order_mail_schedule(order_id=order.pk, kind="server_ready")
    if order.stripe_subscription_id:
        # Renewal date, and anything billing said while we were provisioning.
        from provisioning.lifecycle import billing_sync_enqueue

        billing_sync_enqueue(order_id=order.pk)


def backoff_seconds(*, attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the panel's Retry-After."""
    base = settings.PROVISION_BACKOFF_BASE_SECONDS
    ceiling = min(settings.PROVISION_BACKOFF_MAX_SECONDS, base * (2 ** max(0, attempt - 1)))
    delay = random.uniform(ceiling / 2, ceiling) if ceiling > 0 else 0.0
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def _retry_or_fail(
    *, order: Order, attempt: ProvisioningAttempt, progress: _Progress, exc: PanelRetryableError
) -> str:
    message = _describe(exc, progress)
    # Since the order was paid or last retried by hand; interrupted tries are not counted.
    tries = order.provisioning_attempts
    waited = _waited(order)
    if tries >= settings.PROVISION_MAX_ATTEMPTS or _past_max_age(order):
        _fail(
            order=order,
            attempt=attempt,
            progress=progress,
            message=f"Gave up after {tries} attempt{'' if tries == 1 else 's'} over "
            f"{waited / 60:.0f} min. "
            f"Last error: {message}",
            exc=exc,
        )
        return OrderStatus.ERROR
    delay = backoff_seconds(attempt=tries, retry_after=exc.retry_after)
    _attempt_close(attempt, AttemptOutcome.RETRYING, progress, error=message, exc=exc)
    with transaction.atomic():
        # Release the lease: the order stays 'provisioning' and the next try resumes it.
        Order.objects.filter(pk=order.pk).update(lease_until=None, error_message=message)
        order_note(
            order=order, actor=WORKER_ACTOR, reason=f"retry in {delay:.1f}s after: {message}"
        )
        provisioning_enqueue(order_id=order.pk, delay_seconds=delay)
    return OrderStatus.PROVISIONING


def _waited(order: Order) -> float:
    """Seconds since payment."""
    return (timezone.now() - order.paid_at).total_seconds() if order.paid_at else 0.0


def _past_max_age(order: Order) -> bool:
    return _waited(order) >= settings.PROVISION_MAX_AGE_SECONDS


def _fail(
    *,
    order: Order,
    attempt: ProvisioningAttempt,
    progress: _Progress,
    message: str,
    exc: Exception | None = None,
) -> None:
    _attempt_close(attempt, AttemptOutcome.FAILED, progress, error=message, exc=exc)
    try:
        order_transition(
            order_id=order.pk,
            allowed_from=(OrderStatus.PROVISIONING,),
            to=OrderStatus.ERROR,
            actor=WORKER_ACTOR,
            reason=message,
            updates={"error_message": message, "lease_until": None},
        )
    except InvalidTransition:
        logger.warning("Order #%s left 'provisioning' meanwhile; not marking error", order.pk)
        return
    logger.error("Order #%s provisioning failed at %s: %s", order.pk, progress.step, message)
    # "We are on it, you were charged once": once per order, however many retries fail.
    order_mail_schedule(order_id=order.pk, kind="setup_failed")
    alert_send(
        title=f"Order #{order.pk}: provisioning failed",
        body=f"Step: {progress.step}\nPanel call: {progress.panel_call or '-'}\n{message}\n"
        "Fix the cause, then retry the order from the admin.",
        order_id=order.pk,
    )


def _attempt_close(
    attempt: ProvisioningAttempt,
    outcome: AttemptOutcome,
    progress: _Progress,
    *,
    error: str = "",
    exc: Exception | None = None,
) -> None:
    attempt.outcome = outcome
    attempt.step = progress.step
    attempt.panel_call = progress.panel_call
    attempt.error = error
    attempt.panel_status = getattr(exc, "status", None)
    attempt.finished_at = timezone.now()
    attempt.save()


def _describe(exc: Exception, progress: _Progress) -> str:
    if isinstance(exc, PanelValidationError):
        details = "; ".join(f"{e.source_field}: {e.detail}" for e in exc.errors)
        return f"The panel refused the request ({progress.panel_call}): {details}"
    if isinstance(exc, PanelNotFoundError):
        return f"The panel has no such resource ({progress.panel_call}): {exc}"
    if isinstance(exc, PanelRetryableError):
        return f"The panel could not be reached or failed ({progress.panel_call}): {exc}"
    return str(exc)


def order_retry(*, order_id: int, actor: str) -> Order:
    """Operator (or the internal API) asks for another go: 'error' -> 'paid', queued.
    A 'paid' order is just queued again (harmless: the claim lets one worker in)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == OrderStatus.ERROR:
            order = order_transition(
                order_id=order_id,
                allowed_from=(OrderStatus.ERROR,),
                to=OrderStatus.PAID,
                actor=actor,
                reason="retry requested",
                updates={"error_message": "", "provisioning_attempts": 0},
            ).order
        elif order.status != OrderStatus.PAID:
            raise InvalidTransition(
                f"Order #{order_id} is '{order.status}'; only paid or failed orders can be "
                "provisioned.",
                code="invalid_status",
            )
        provisioning_enqueue(order_id=order_id)
        return order


def order_mark_resolved(*, order_id: int, actor: str, client: PanelClient | None = None) -> Order:
    """An operator fixed a failed order by hand in the panel (e.g. created the server with the
    order's external_id). We adopt that server: 'error' -> 'provisioned'. Refused when the
    panel has no such server, so an order is never marked done that is not."""
    order = Order.objects.get(pk=order_id)
    if order.status != OrderStatus.ERROR:
        raise InvalidTransition(
            f"Order #{order_id} is '{order.status}'; only failed orders can be marked resolved.",
            code="invalid_status",
        )
    own = client is None
    client = client or PanelClient.from_settings()
    try:
        server = client.server_get_by_external_id(external_id=order.panel_external_id)
    finally:
        if own:
            client.close()
    if server is None:
        raise ServiceError(
            f"The panel has no server with external id {order.panel_external_id}: create it "
            "with that external id (or retry the order), then mark it resolved.",
            code="no_server",
            status=409,
        )
    address = order.allocation.address if order.allocation else order.server_address
    primary = server.primary_allocation
    if primary is not None:
        address = f"{primary.alias or primary.ip}:{primary.port}"
    result = order_transition(
        order_id=order_id,
        allowed_from=(OrderStatus.ERROR,),
        to=OrderStatus.PROVISIONED,
        actor=actor,
        reason=f"marked resolved: adopted panel server {server.id} ({server.identifier})",
        updates={
            "ptero_server_id": server.id,
            "ptero_identifier": server.identifier,
            "server_address": address,
            "provisioned_at": timezone.now(),
            "error_message": "",
        },
    )
    if result.changed:
        order_mail_schedule(order_id=order_id, kind="server_ready")
    return result.order


# --------------------------------------------------------------------------- customer actions
def server_environment_update(
    *,
    client: PanelClient,
    server: PanelServer,
    egg: Egg,
    changes: dict[str, str],
    skip_scripts: bool,
) -> None:
    """Set some of a server's egg variables. The panel resets every variable left out of a
    startup PATCH, so the full map is sent: the server's current values of the egg's
    variables, with the changes on top."""
    known = {v["env_variable"] for v in egg.variables}
    environment = {k: str(v) for k, v in server.environment.items() if k in known}
    environment.update(changes)
    client.server_update_startup(
        server_id=server.id,
        startup=server.startup or egg.startup,
        environment=environment,
        egg_id=server.egg_id,
        image=server.docker_image or egg.docker_image,
        skip_scripts=skip_scripts,
    )


def _serving_order(*, order_id: int, user_id: int) -> Order:
    order = Order.objects.select_related("plan__egg").filter(pk=order_id, user_id=user_id).first()
    if order is None:
        raise ServiceError("No such server.", code="not_found", status=404)
    if order.status != OrderStatus.PROVISIONED or order.ptero_server_id is None:
        raise ServiceError(
            f"The server is {order.status}; this is not possible now.",
            code="not_running",
            status=409,
        )
    return order


def order_reinstall(*, order_id: int, user_id: int, confirm: bool) -> None:
    """Reinstall the game: the panel wipes the server's files and runs the egg's installer."""
    if not confirm:
        raise ServiceError(
            "Reinstalling deletes every file of the server. Confirm to go ahead.",
            code="confirmation_required",
        )
    order = _serving_order(order_id=order_id, user_id=user_id)
    with PanelClient.from_settings() as client:
        client.server_reinstall(server_id=order.ptero_server_id)  # type: ignore[arg-type]
    order_note(order=order, actor=f"customer:{user_id}", reason="reinstall requested")


def order_change_variables(*, order_id: int, user_id: int, values: Mapping[str, Any]) -> Order:
    """Change customer-editable egg variables (e.g. the game version). The panel resets every
    variable left out of a startup PATCH, so the full map is sent: the server's current
    values, with the customer's changes."""
    from catalog.variables import variables_validate

    order = _serving_order(order_id=order_id, user_id=user_id)
    chosen = variables_validate(plan=order.plan, values=dict(values))
    egg = order.plan.egg
    with PanelClient.from_settings() as client:
        server = client.server_get(server_id=order.ptero_server_id)  # type: ignore[arg-type]
        server_environment_update(
            client=client, server=server, egg=egg, changes=chosen, skip_scripts=False
        )
    Order.objects.filter(pk=order.pk).update(variables={**order.variables, **chosen})
    order_note(order=order, actor=f"customer:{user_id}", reason=f"variables changed: {chosen}")
    order.refresh_from_db()
    return order
