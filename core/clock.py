"""The one clock the billing lifecycle reads, so tests can run a year in seconds by pointing it
at the Stripe sandbox's test clock."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
