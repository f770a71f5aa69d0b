"""Decode Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists.

stripe-python encodes nested dicts as bracketed keys (``metadata[order_id]=42``) and lists
with *indexed* brackets (``line_items[0][price]=price_1``, ``expand[0]=line_items``).  curl
users also send ``expand[]=line_items``; both forms are accepted here.  Booleans arrive as
``true``/``false`` and are decoded to ``bool`` everywhere except inside ``metadata`` (whose
values are always strings).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART_RE = re.compile(r"\[([^\[\]]*)\]")

# Subtrees whose dict keys are user data: never turned into lists, values never coerced.
_OPAQUE = frozenset({"metadata"})


class FormDecodeError(ValueError):
    """A key could not be parsed (e.g. ``a[b``)."""


def _split_key(key: str) -> list[str]:
    m = _KEY_RE.match(key)
    if not m:
        raise FormDecodeError(f"Invalid parameter name: {key}")
    return [m.group(1), *_PART_RE.findall(m.group(2))]


def _insert(root: dict[str, Any], parts: list[str], value: str) -> None:
    node = root
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":
            # "expand[]" style append: use the next free numeric slot.
            part = str(len(node))
        if last:
            node[part] = value
        else:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child


def _finish(value: Any, opaque: bool) -> Any:
    if isinstance(value, dict):
        items = {k: _finish(v, opaque or k in _OPAQUE) for k, v in value.items()}
        if not opaque and items and all(k.isdigit() for k in items):
            return [items[k] for k in sorted(items, key=int)]
        return items
    if not opaque and value in ("true", "false"):
        return value == "true"
    return value


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, _split_key(key), value)
    return {k: _finish(v, k in _OPAQUE) for k, v in root.items()}


def decode_form(text: str) -> dict[str, Any]:
    """Parse a query string or ``application/x-www-form-urlencoded`` body."""
    if not text:
        return {}
    return decode_pairs(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
