"""Request-level security pieces wired in settings and urls (docs/deploy.md).

- `TrustedProxyMiddleware`: a request whose X-Forwarded-For has fewer entries than
  TRUSTED_PROXY_COUNT did not come through our proxies; allauth would raise
  ImproperlyConfigured (a 500) on it, so it is refused with a 400 here.
- `ContentSecurityPolicyMiddleware`: django-csp's, adding the Stripe sandbox's origin to
  `form-action` when STRIPE_API_BASE is set (read per request: tests point it at a sandbox on
  a random port after start-up).
- `AdminLoginForm`: the admin's login form, counted against allauth's `login_failed` limits
  (per client address and per account, in the shared cache), the same budget as the
  customers' login page. We use allauth's limits rather than a second library (django-axes):
  one store, one client-address rule (TRUSTED_PROXY_COUNT), one set of rates, and an account
  attacked on either form is protected on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.adapter import get_adapter
from csp.middleware import CSPMiddleware, PolicyParts
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = settings.TRUSTED_PROXY_COUNT
        xff = request.headers.get("X-Forwarded-For")
        if count and xff is not None and len(xff.split(",")) < count:
            return JsonResponse(
                {
                    "detail": "The request did not come through the configured proxies.",
                    "code": "bad_proxy_chain",
                },
                status=400,
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if settings.STRIPE_API_BASE and parts.update is None:
            # The buy form's POST is redirected to the sandbox's hosted Checkout page.
            parts.update = {"form-action": [settings.STRIPE_API_BASE]}
        return parts


class AdminLoginForm(AdminAuthenticationForm):
    """Django's admin login, with allauth's failed-login limits in front of the password check."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "too_many_login_attempts": "Too many failed login attempts. Try again later.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            adapter = get_adapter(self.request)
            try:
                # Consumes one `login_failed` hit per address and per account before the
                # password is checked; gives it back when the password was right (allauth's
                # DefaultAccountAdapter.authenticate).
                user = adapter.authenticate(self.request, email=username, password=password)
            except forms.ValidationError as exc:
                raise forms.ValidationError(
                    self.error_messages["too_many_login_attempts"],
                    code="too_many_login_attempts",
                ) from exc
            if user is None:
                raise self.get_invalid_login_error()
            self.user_cache = user
            self.confirm_login_allowed(user)
        return self.cleaned_data
