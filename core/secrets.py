"""The encrypted `secrets` table: services read and write secrets only through here."""

from __future__ import annotations

from core.crypto import decrypt, encrypt
from core.models import Secret


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
