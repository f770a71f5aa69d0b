"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management import call_command
from django.test import Client

from accounts.models import User

# A fixed CSRF secret (Django accepts an unmasked 32-character secret in the header): the
# customers' clients send it like a browser's JavaScript would, so CSRF checks stay on.
CSRF_TOKEN = "testcsrfsecretABCDEFGHIJKLMNOPQR"


def csrf_client() -> Client:
    """A test client with CSRF checks enforced, holding a CSRF cookie and sending its header."""
    client = Client(enforce_csrf_checks=True, headers={"X-CSRFToken": CSRF_TOKEN})
    client.cookies["csrftoken"] = CSRF_TOKEN
    return client


def make_customer(email: str, password: str = "pw-for-tests-1") -> tuple[User, Client]:
    user = User.objects.create_user(email, password, first_name="Test", last_name="Customer")
    client = csrf_client()
    client.force_login(user)
    return user, client


def superuser_client(email: str = "ops@example.com", password: str = "pw-for-tests-1") -> Client:
    """An operator (superuser) logged in through the real login, CSRF checks enforced: forms
    are posted with the token their page set, as a browser does (see admin_form_data)."""
    User.objects.create_superuser(email, password)
    client = Client(enforce_csrf_checks=True)
    assert client.login(email=email, password=password)
    return client


def admin_form_data(client: Client, url: str) -> dict[str, Any]:
    """What a browser would post back from the admin form at `url` unchanged: every field's
    current value plus the page's CSRF token. Tests then change the fields under test."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data: dict[str, Any] = {"csrfmiddlewaretoken": page.cookies["csrftoken"].value}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif isinstance(value, list):
            data[name] = [str(v) for v in value]
        elif value is not False and value is not None:
            data[name] = value
    return data


def run_worker() -> None:
    """Run every queued task to completion in this process (the real db_worker loop)."""
    call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay", verbosity=0)


def checkout(client: Client, **overrides: Any) -> Any:
    body = {"plan": "minecraft-2gb", "region": "us-east", "server_name": "Alice's SMP"}
    body.update(overrides)
    return client.post(
        "/api/checkout/session", data=json.dumps(body), content_type="application/json"
    )
