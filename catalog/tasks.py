"""Tasks are thin: take ids and names, call the service (catalog/waitlist.py)."""

from __future__ import annotations

from django_tasks import task


@task()
def waitlist_check(event: str, region_ids: list[int] | None = None) -> str:
    from catalog.waitlist import waitlist_notify

    return f"{waitlist_notify(event=event, region_ids=region_ids)} waiting customers told"


@task()
def send_waitlist_mail(event: str, user_id: int, entry_ids: list[int]) -> str:
    from catalog.waitlist import waitlist_mail_send

    sent = waitlist_mail_send(event=event, user_id=user_id, entry_ids=entry_ids)
    return "sent" if sent else "already sent or failed (see Core -> Sent mails)"
