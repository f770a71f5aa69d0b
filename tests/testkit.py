"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management import call_command
from django.test import Client

from accounts.models import User


def make_customer(email: str, password: str = "pw-for-tests-1") -> tuple[User, Client]:
    user = User.objects.create_user(email, password, first_name="Test", last_name="Customer")
    client = Client()
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
