"""Operator alerts through apprise (ALERT_URLS: Discord, Slack, e-mail, ... URLs).

An alert is always logged and stored (table `alerts`), so an installation with no ALERT_URLS
still leaves a trace an operator can find in the admin.
Sending never raises: a broken alert channel must not break provisioning.
"""

from __future__ import annotations

import logging

from django.conf import settings

from core.models import Alert

logger = logging.getLogger("givrwrld.alerts")


def alert_send(*, title: str, body: str, order_id: int | None = None) -> bool:
    """Record, log and deliver one alert. Returns whether any ALERT_URLS target accepted it."""
    logger.error("ALERT %s: %s", title, body)
    delivered = _deliver(title=title, body=body)
    Alert.objects.create(title=title[:255], body=body, delivered=delivered, order_id=order_id)
    return delivered


def _deliver(*, title: str, body: str) -> bool:
    urls = list(settings.ALERT_URLS)
    if not urls:
        return False
    try:
        import apprise

        from core import alert_file  # noqa: F401  (registers the alertfile:// target)

        notifier = apprise.Apprise()
        for url in urls:
            notifier.add(url)
        return bool(notifier.notify(title=title, body=body))
    except Exception:  # an alert channel failure is logged, never propagated
        logger.exception("Alert could not be delivered: %s", title)
        return False
