"""Text a client sent: refuse what cannot be stored or shown.

JSON may carry lone UTF-16 surrogates ("\\ud800"); Python decodes them into a str that cannot
be encoded as UTF-8, so the database driver (or the template) fails with a 500 later. Every
client-sendable string is checked here first and refused with a 4xx instead (DESIGN.md,
invariant 4)."""

from __future__ import annotations

from typing import Any


def text_is_valid(value: str) -> bool:
    """Whether `value` is encodable as UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def texts_are_valid(value: Any) -> bool:
    """The same for every string inside `value` (dict keys and values, lists), recursively."""
    if isinstance(value, str):
        return text_is_valid(value)
    if isinstance(value, dict):
        return all(texts_are_valid(k) and texts_are_valid(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(texts_are_valid(v) for v in value)
    return True
