"""AES-256-GCM for values stored at rest, keyed by the AES_KEY setting.

AES_KEY is 32 random bytes, given as base64 (44 characters) or hex (64 characters).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from core.errors import ConfigurationError

NONCE_BYTES = 12


def _key() -> bytes:
    return parse_key(settings.AES_KEY or "", name="AES_KEY")


def parse_key(raw: str, *, name: str = "AES_KEY") -> bytes:
    """A 32-byte key from its base64 (44 characters) or hex (64 characters) text."""
    raw = raw.strip()
    if not raw:
        raise ConfigurationError(f"{name} is not set: generate one with `openssl rand -base64 32`.")
    key: bytes | None = None
    if len(raw) == 64:
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            key = None
    if key is None:
        try:
            key = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) != 32:
        raise ConfigurationError(f"{name} must be 32 bytes, base64 (44 chars) or hex (64 chars).")
    return key


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def encrypt(plaintext: str, *, associated_data: str, key: bytes | None = None) -> bytes:
    """Seal under `key` (default: AES_KEY) with a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key or _key()).encrypt(nonce, plaintext.encode(), associated_data.encode())
    return nonce + sealed


def decrypt(blob: bytes, *, associated_data: str, key: bytes | None = None) -> str:
    """Open a value sealed by `encrypt` under `key` (default: AES_KEY)."""
    blob = bytes(blob)
    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        return AESGCM(key or _key()).decrypt(nonce, sealed, associated_data.encode()).decode()
    except InvalidTag as exc:
        raise ConfigurationError(
            f"Secret {associated_data!r} cannot be decrypted: AES_KEY is not the key it was "
            "stored with."
        ) from exc
