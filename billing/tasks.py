"""Tasks are thin: load by id, call the service."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def send_order_mail(
    order_id: int, kind: str, once_per: str = "", extra: dict[str, Any] | None = None
) -> str:
    from billing.mails import order_mail_send

    sent = order_mail_send(order_id=order_id, kind=kind, once_per=once_per, **(extra or {}))
    return "sent" if sent else "already sent or failed (see Core -> Sent mails)"
