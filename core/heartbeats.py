"""Liveness of background loops: the worker's periodic tick beats; /readyz reads the age."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.models import Heartbeat


def heartbeat_beat(*, name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


def heartbeat_age(*, name: str) -> timedelta | None:
    """How long ago `name` last beat; None if it never did."""
    beat_at = Heartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
    return None if beat_at is None else timezone.now() - beat_at
