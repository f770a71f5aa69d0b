"""Stripe webhook signatures, computed exactly as Stripe does (no ``stripe`` import).

``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">`` where the HMAC key
is the *whole* endpoint secret string, ``whsec_`` prefix included, UTF-8 encoded.
"""

from __future__ import annotations

import hashlib
import hmac


def compute_signature(payload: str, timestamp: int, secret: str) -> str:
    message = f"{timestamp}.{payload}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(payload: str, timestamp: int, secret: str) -> str:
    return f"t={timestamp},v1={compute_signature(payload, timestamp, secret)}"


def verify_header(payload: str, header: str, secret: str) -> bool:
    """Constant-time check of every ``v1`` in ``header`` (no timestamp tolerance)."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and timestamp is None:
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    expected = compute_signature(payload, timestamp, secret)
    return any(hmac.compare_digest(expected, c) for c in candidates)
