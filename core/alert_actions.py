"""Acknowledge and resolve alerts: who and when (docs/console.md, "Alerts").

Conditional UPDATEs, so two staff pressing at once record the first one only and a second
press changes nothing: an acknowledged alert keeps its first acknowledger, a resolved alert
its resolver. Resolving also acknowledges (by the resolver) if nobody had.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.models import Alert


def alert_acknowledge(*, alert_id: int, actor: str) -> bool:
    """Returns whether this call acknowledged it (False: already acknowledged)."""
    now = timezone.now()
    return bool(
        Alert.objects.filter(pk=alert_id, acknowledged_at=None).update(
            acknowledged_at=now, acknowledged_by=actor[:191]
        )
    )


def alert_resolve(*, alert_id: int, actor: str) -> bool:
    """Returns whether this call resolved it (False: already resolved)."""
    now = timezone.now()
    with transaction.atomic():
        changed = Alert.objects.filter(pk=alert_id, resolved_at=None).update(
            resolved_at=now, resolved_by=actor[:191]
        )
        if changed:
            Alert.objects.filter(pk=alert_id, acknowledged_at=None).update(
                acknowledged_at=now, acknowledged_by=actor[:191]
            )
    return bool(changed)
