"""allauth's adapter with the shop's name in its mails and the unverified page's address.

allauth names the site by `django.contrib.sites`, which we do not install, so it falls back
to the request's host: the sign-up mail said "Hello from 127.0.0.1:3101!". Every allauth mail
gets `current_site` with settings.SITE_NAME as its name (allauth's own templates use
`current_site.name`; ours, under templates/account/email/, also use `site_name`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# The session key holding the address an unverified log-in or sign-up used, so the
# "verify your e-mail" page can offer *Send the link again* for it.
PENDING_EMAIL_SESSION_KEY = "givrwrld_verification_email"


@dataclass(frozen=True)
class NamedSite:
    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        domain = settings.API_URL.split("://", 1)[-1].split("/", 1)[0]
        context = {
            "current_site": NamedSite(name=settings.SITE_NAME, domain=domain),
            "site_name": settings.SITE_NAME,
            "site_url": settings.API_URL,
            **context,
        }
        super().send_mail(template_prefix, email, context)

    def respond_email_verification_sent(
        self, request: HttpRequest, user: AbstractBaseUser | None
    ) -> HttpResponseBase:
        email = getattr(user, "email", "") or ""
        if email:
            request.session[PENDING_EMAIL_SESSION_KEY] = email
        return super().respond_email_verification_sent(request, user)
