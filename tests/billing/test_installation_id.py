"""The installation id: generated once, stored encrypted in the secrets table, the same for
every process of the installation, new after a database reset; request keys never repeat."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from billing.idempotency import (
    INSTALLATION_SECRET,
    idempotency_key,
    installation_id,
    order_next_request_key,
)
from core.models import Secret
from core.secrets import secret_get

pytestmark = pytest.mark.django_db(transaction=True)


def test_generated_once_and_stored():
    first = installation_id()
    assert re.fullmatch(r"[0-9a-f]{24}", first)
    assert installation_id() == first == secret_get(INSTALLATION_SECRET)
    assert first.encode() not in bytes(Secret.objects.get(name=INSTALLATION_SECRET).ciphertext)
    Secret.objects.filter(name=INSTALLATION_SECRET).delete()  # a database reset
    assert installation_id() != first


def test_concurrent_first_use_agrees():
    seen: list[str] = []

    def read() -> None:
        try:
            seen.append(installation_id())
        finally:
            connection.close()

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and len(set(seen)) == 1
    assert Secret.objects.filter(name=INSTALLATION_SECRET).count() == 1


def test_request_keys_never_repeat(catalog, stripe_sandbox, alice):
    from billing.models import Order

    order_id = alice.post(
        "/api/checkout/session",
        {"plan": "minecraft-2gb", "region": "us-east", "server_name": "keys"},
    ).json()["order_id"]
    keys = [order_next_request_key(order_id=order_id, purpose="cancel") for _ in range(3)]
    inst = installation_id()
    assert keys == [f"givrwrld-{inst}-order-{order_id}-cancel-{n}" for n in (1, 2, 3)]
    assert Order.objects.get(pk=order_id).stripe_request_seq == 3
    assert idempotency_key(order_id=order_id, purpose="checkout-session", attempt=1) in (
        stripe_sandbox.idempotency
    )
