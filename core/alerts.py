"""Operator alerts through apprise (ALERT_URLS: Discord, Slack, e-mail, ... URLs).

An alert is also always logged, so an installation with no ALERT_URLS still leaves a trace.
Sending never raises: a broken alert channel must not break provisioning.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger("givrwrld.alerts")


def alert_send(*, title: str, body: str) -> bool:
    logger.error("ALERT %s: %s", title, body)
    urls = list(settings.ALERT_URLS)
    if not urls:
        return False
    try:
        import apprise

        notifier = apprise.Apprise()
        for url in urls:
            notifier.add(url)
        return bool(notifier.notify(title=title, body=body))
    except Exception:  # an alert channel failure is logged, never propagated
        logger.exception("Alert could not be delivered: %s", title)
        return False
