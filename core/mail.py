"""Customer mail: one layout (templates/mail/layout.txt and .html) for every mail, plain text
with an HTML alternative, and a ledger (core.SentMail) so each mail goes out once.

`mail_send_once` claims the mail's key with an INSERT (unique), then renders and sends. A
second call with the same key (a retried task, a duplicate webhook, another worker) finds
the row and sends nothing. Callers schedule it with `transaction.on_commit`, so a rolled-back
change never mails anybody. A mail outage is logged on the row (`error`) and never raised:
it must not stop a payment or a provisioning step.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from core import clock
from core.models import SentMail

logger = logging.getLogger(__name__)


def mail_render(*, template: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of templates/mail/<template>.txt and .html, with the layout's context."""
    full = {"site_name": settings.SITE_NAME, "site_url": settings.API_URL, **context}
    text = render_to_string(f"mail/{template}.txt", full).strip() + "\n"
    html = render_to_string(f"mail/{template}.html", full)
    return text, html


def mail_send_once(
    *,
    key: str,
    kind: str,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    order_id: int | None = None,
) -> bool:
    """Send the mail unless one with this key was already claimed. Returns whether it sent."""
    full_subject = f"[{settings.SITE_NAME}] {subject}"
    try:
        with transaction.atomic():
            row = SentMail.objects.create(
                key=key[:191], kind=kind, order_id=order_id, to=to, subject=full_subject[:255]
            )
    except IntegrityError:
        return False  # someone already sent (or is sending) this one
    try:
        text, html = mail_render(template=template, context={**context, "subject": subject})
        message = EmailMultiAlternatives(full_subject, text, settings.DEFAULT_FROM_EMAIL, [to])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:  # a mail outage must not stop payments or provisioning
        logger.exception("Could not send mail %s to order #%s", key, order_id)
        SentMail.objects.filter(pk=row.pk).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        return False
    SentMail.objects.filter(pk=row.pk).update(sent_at=clock.now())
    return True
