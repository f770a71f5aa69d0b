"""Idempotency keys for our state-changing Stripe requests.

Stripe keeps a key for 24 hours and answers `idempotency_error` when it comes back with other
parameters (Stripe API, "Idempotent requests"). So a key must be unique to this installation
(two shops, or one shop after a database reset, on one Stripe account reuse order numbers) and
to the attempt (cancel → resume → cancel sends the same parameters twice, as two requests).
A key therefore reads `givrwrld-<installation id>-order-<id>-<purpose>-<attempt>`. The SDK
reuses the key across its own network retries, which is what the key is for.
"""

from __future__ import annotations

import secrets as _random

from django.db import transaction
from django.db.models import F

from billing.models import Order
from core.crypto import decrypt, encrypt
from core.models import Secret

INSTALLATION_SECRET = "billing.INSTALLATION_ID"


def installation_id() -> str:
    """This installation's id: generated once, stored in the secrets table. Read each time
    (one indexed row), never cached, so a database reset gives a new id at once. Two
    processes creating it together agree: the unique name makes the second one read the
    first one's row."""
    row = Secret.objects.filter(name=INSTALLATION_SECRET).first()
    if row is None:
        fresh = _random.token_hex(12)
        row, _ = Secret.objects.get_or_create(
            name=INSTALLATION_SECRET,
            defaults={"ciphertext": encrypt(fresh, associated_data=INSTALLATION_SECRET)},
        )
    return decrypt(bytes(row.ciphertext), associated_data=INSTALLATION_SECRET)


def idempotency_key(*, order_id: int, purpose: str, attempt: int) -> str:
    return f"givrwrld-{installation_id()}-order-{order_id}-{purpose}-{attempt}"


def order_next_request_key(*, order_id: int, purpose: str) -> str:
    """A fresh key for a customer's request about the order (cancel, resume, plan change):
    the order's request counter goes up by one in the database, so two clicks, or two
    processes, never share a key."""
    # The UPDATE holds the row lock until the transaction ends, so the read sees our own +1.
    with transaction.atomic():
        Order.objects.filter(pk=order_id).update(stripe_request_seq=F("stripe_request_seq") + 1)
        seq = Order.objects.filter(pk=order_id).values_list("stripe_request_seq", flat=True).get()
    return idempotency_key(order_id=order_id, purpose=purpose, attempt=seq)
