"""System checks: refuse configurations that would lose money or leak secrets in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def check_sandbox_not_in_production(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    if settings.DEBUG or settings.SANDBOX_ALLOWED:
        return errors
    if settings.STRIPE_API_BASE:
        errors.append(
            Error(
                "STRIPE_API_BASE points at a Stripe sandbox while DEBUG is off.",
                hint="Unset STRIPE_API_BASE to use real Stripe, or set SANDBOX_ALLOWED=1 "
                "if this installation is a demo.",
                id="givrwrld.E001",
            )
        )
    return errors
