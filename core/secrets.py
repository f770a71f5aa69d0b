"""The encrypted `secrets` table: services read and write secrets only through here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from core.crypto import _key, decrypt, encrypt, parse_key
from core.errors import ConfigurationError
from core.models import Secret

logger = logging.getLogger(__name__)


def secret_set(*, name: str, value: str) -> None:
    Secret.objects.update_or_create(
        name=name, defaults={"ciphertext": encrypt(value, associated_data=name)}
    )


def secret_get(name: str) -> str | None:
    row = Secret.objects.filter(name=name).first()
    if row is None:
        return None
    return decrypt(bytes(row.ciphertext), associated_data=name)


def secret_delete(*, name: str) -> bool:
    deleted, _ = Secret.objects.filter(name=name).delete()
    return deleted > 0


def secret_names() -> list[str]:
    return list(Secret.objects.order_by("name").values_list("name", flat=True))


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    already_current: int


def secrets_rotate(*, old_key: str) -> RotationResult:
    """Re-encrypt every secret from `old_key` to the configured AES_KEY, all or nothing.

    One transaction with every row locked: each value is opened with the old key, sealed with
    the new one and opened again with the new one before anything commits. A value that does not
    open with the old key stops the whole rotation (nothing changes) unless it already opens
    with the new key (stored after AES_KEY was switched), which is left as it is.
    """
    old = parse_key(old_key, name="the old key")
    new = _key()
    if old == new:
        raise ConfigurationError("The old key is the same as AES_KEY: nothing to rotate.")
    rotated = already_current = 0
    with transaction.atomic():
        for row in Secret.objects.select_for_update().order_by("name"):
            blob = bytes(row.ciphertext)
            try:
                plaintext = decrypt(blob, associated_data=row.name, key=old)
            except ConfigurationError:
                try:
                    decrypt(blob, associated_data=row.name, key=new)
                except ConfigurationError:
                    raise ConfigurationError(
                        f"Secret {row.name!r} opens with neither the old key nor AES_KEY; "
                        "nothing was changed."
                    ) from None
                already_current += 1
                continue
            sealed = encrypt(plaintext, associated_data=row.name, key=new)
            if decrypt(sealed, associated_data=row.name, key=new) != plaintext:
                raise ConfigurationError(
                    f"Secret {row.name!r} did not round-trip; nothing changed."
                )
            row.ciphertext = sealed
            row.save(update_fields=["ciphertext", "updated_at"])
            rotated += 1
    logger.info(
        "Secrets re-encrypted under the new AES_KEY: %s rotated, %s already current",
        rotated,
        already_current,
    )
    return RotationResult(rotated=rotated, already_current=already_current)
