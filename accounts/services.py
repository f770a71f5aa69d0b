"""Customer account writes."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


def user_profile_update(*, user: User, first_name: str, last_name: str) -> User:
    user.first_name = first_name.strip()[:150]
    user.last_name = last_name.strip()[:150]
    user.save(update_fields=["first_name", "last_name"])
    return user


def verification_resend(*, request: HttpRequest, email: str) -> bool:
    """*Send the link again* on the "verify your e-mail" page. Returns False when a link went
    to this address less than allauth's cooldown ago (then none is sent; the earlier link
    still works). The answer is the same whether or not an account uses the address, so the
    page tells nobody which addresses have accounts: an unknown or already verified address
    only spends the same rate limit."""
    from allauth.account.internal.flows.email_verification import (
        consume_email_verification_rate_limit,
        send_verification_email_to_address,
    )
    from allauth.account.models import EmailAddress

    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=False)
        .select_related("user")
        .first()
    )
    if address is None or not address.user_id:
        return consume_email_verification_rate_limit(request, email)
    return send_verification_email_to_address(request, address)
