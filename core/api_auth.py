"""Session authentication for the JSON API that tells "not logged in" (401) from "forged" (403).

Ninja's own `django_auth` runs Django's CSRF check before it looks at the session, so an
anonymous POST (no session, no CSRF cookie) answered 403 "CSRF check Failed" where the API
promises 401. The CSRF check protects a logged-in session from cross-site requests; a request
without one has nothing to protect, so it is judged on authentication alone. A request that
does carry a logged-in session still has to pass the CSRF check (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import SessionAuth as NinjaSessionAuth


class SessionAuth(NinjaSessionAuth):
    def __call__(self, request: HttpRequest) -> Any | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        # Logged in: Ninja's check (CSRF first, then the session's user).
        return super().__call__(request)


class StaffSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        user = super().authenticate(request, key)
        if user is not None and getattr(user, "is_staff", False):
            return user
        return None


django_auth = SessionAuth()
staff_auth = StaffSessionAuth()


def customer_id(request: HttpRequest) -> int:
    """The signed-in customer's id (views using this require a login). Here, at the bottom,
    because the storefront, billing's and provisioning's APIs all need it."""
    assert request.user.pk is not None, "login required"
    return int(request.user.pk)
