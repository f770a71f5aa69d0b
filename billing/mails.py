"""The mails a customer gets about an order, one per event, all on the layout of core/mail.py.

| kind | when (who calls `order_mail_schedule`) | key: sent once per |
|---|---|---|
| `receipt` | the order became paid (billing.services.order_mark_paid) | order |
| `server_ready` | the server exists (provisioning: provisioned, or marked resolved) | order |
| `setup_failed` | provisioning stopped in 'error' (provisioning.services._fail) | order |
| `payment_failed` | a renewal could not be charged (billing.lifecycle) | failure (its start time) |
| `termination_warning` | the server will be deleted soon (billing.lifecycle) | deletion date |

Each is queued (a `send_order_mail` task, written in the transaction of the transition that
causes it) so a change that rolls back sends nothing and nobody waits for the mail server; the
ledger (core.SentMail) makes a retry, a duplicate webhook or a second worker send nothing more.
Templates: templates/mail/<kind>.txt and .html.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from billing.models import Order
from core.mail import mail_send_once

# Template values that travel through the task queue as ISO text.
_DATETIMES = {"terminate_at"}

SUBJECTS = {
    "receipt": "Receipt for order #{id}: {plan}",
    "server_ready": "Your server {name} is ready",
    "setup_failed": "Setting up {name} needs our team: we are on it",
    "payment_failed": "Your payment failed: {name}",
    "termination_warning": "Your server {name} will be deleted",
}


def order_mail_schedule(*, order_id: int, kind: str, once_per: str = "", **extra: Any) -> None:
    """Queue mail `kind` about the order for the worker. The task row is written in the
    caller's transaction (core.queue), so the mail exists only if the change commits, and the
    webhook or the provisioning step never waits for a mail server. `once_per` narrows "once
    per order" for mails that can recur (a later payment failure is a new mail); `extra`
    (JSON values; datetimes as ISO text) goes to the template."""
    from billing.tasks import send_order_mail
    from core.queue import enqueue_in_transaction

    if kind not in SUBJECTS:
        raise ValueError(f"unknown order mail {kind!r}")
    enqueue_in_transaction(
        send_order_mail, order_id=order_id, kind=kind, once_per=once_per, extra=extra
    )


def order_mail_send(*, order_id: int, kind: str, once_per: str = "", **extra: Any) -> bool:
    order = Order.objects.select_related("user", "plan__game", "region").get(pk=order_id)
    key = f"order-{order.pk}-{kind}" + (f"-{once_per}" if once_per else "")
    subject = SUBJECTS[kind].format(id=order.pk, plan=order.plan, name=order.server_name[:60])
    for name in _DATETIMES & set(extra):
        if isinstance(extra[name], str):
            extra[name] = datetime.fromisoformat(extra[name])
    return mail_send_once(
        key=key,
        kind=kind,
        to=order.user.email,
        subject=subject,
        template=kind,
        context={**order_mail_context(order), **extra},
        order_id=order.pk,
    )


def order_mail_context(order: Order) -> dict[str, Any]:
    from core.secrets import secret_get

    panel = (secret_get("panel.PANEL_PUBLIC_URL") or secret_get("panel.PANEL_URL") or "").rstrip(
        "/"
    )
    return {
        "order": order,
        "plan": order.plan,
        "game": order.plan.game,
        "region": order.region,
        "email": order.user.email,
        "monthly": bool(order.plan.recurring_interval),
        "order_url": f"{settings.API_URL}/orders/{order.pk}",
        "dashboard_url": f"{settings.API_URL}/dashboard",
        "panel_url": panel,
        "server_url": f"{panel}/server/{order.ptero_identifier}"
        if panel and order.ptero_identifier
        else "",
        "grace_days": settings.SUSPEND_GRACE_DAYS,
        # What Stripe charged (the receipt passes the session's amount_total); else the price.
        "paid_cents": None,
    }
