"""How often a checkout may be started: per signed-in customer and per client address.

Counted by django-allauth's limiter (ACCOUNT_RATE_LIMITS["checkout"], RATE_LIMIT_CHECKOUT) in
the shared cache, so every web process shares one budget, with the client address read as
the login limits read it (TRUSTED_PROXY_COUNT)."""

from __future__ import annotations

from allauth.core import ratelimit
from django.http import HttpRequest

from core.errors import ServiceError


class CheckoutRateLimited(ServiceError):
    status = 429
    code = "rate_limited"


def checkout_attempt_check(request: HttpRequest) -> None:
    """Count one checkout attempt; raise CheckoutRateLimited when over the limit."""
    if not ratelimit.consume(request, action="checkout", user=request.user):
        raise CheckoutRateLimited(
            "Too many checkout attempts in a short time. Wait a minute, then try again."
        )
