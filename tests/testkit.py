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


def run_worker() -> None:
    """Run every queued task to completion in this process (the real db_worker loop)."""
    call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay", verbosity=0)


def checkout(client: Client, **overrides: Any) -> Any:
    body = {"plan": "minecraft-2gb", "region": "us-east", "server_name": "Alice's SMP"}
    body.update(overrides)
    return client.post(
        "/api/checkout/session", data=json.dumps(body), content_type="application/json"
    )
