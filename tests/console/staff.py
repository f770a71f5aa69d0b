"""Staff users with the shipped roles, and a browser-like client posting real admin forms
(CSRF enforced: the token comes from the page's form, as a browser sends it)."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import User

_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def staff_client(email: str, *, group: str | None = None, perms: tuple[str, ...] = ()) -> Client:
    user = User.objects.create_user(email, "pw-for-tests-1", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def token(client: Client, url: str) -> str:
    """The CSRF token of the form on `url` (any admin page with a form)."""
    page = client.get(url)
    found = _TOKEN.search(page.content.decode())
    assert found, (url, page.status_code)
    return found.group(1)


def post_form(client: Client, url: str, data: dict[str, object], *, token_from: str = "") -> object:
    """POST `data` with the CSRF token of the page at `token_from` (default: `url` itself)."""
    return client.post(url, {"csrfmiddlewaretoken": token(client, token_from or url), **data})
