"""Parameter validation from Stripe's own parameter schema (``schema.json``).

``schema.json`` is generated from stripe-python's ``stripe/params/**`` TypedDicts, which Stripe
generates from its OpenAPI spec: every parameter an endpoint accepts at every nesting level,
which are required, and the values of each enum. Stripe refuses anything else, so the sandbox
does too, with Stripe's error shapes:

- an unknown name at any depth: ``Received unknown parameter: payment_intent_data[foo]``
  (code ``parameter_unknown``);
- a missing required nested name: ``Missing required param: line_items[0][price_data][currency].``;
- an enum value outside the list: ``Invalid mode: must be one of payment, setup, or
  subscription``;
- a boolean other than ``true``/``false``: ``Invalid boolean: yes``;
- an integer that is not one: ``Invalid integer: 12.5``;
- a hash or an array where the other (or a string) is expected: ``Invalid object`` /
  ``Invalid array``.

Business rules (amounts, mode combinations, ...) are checked by the handlers after this.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import StripeApiError, invalid, missing, unknown_parameter

_SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).with_name("schema.json")).read_text(encoding="utf-8")
)
CLASSES: dict[str, Any] = _SCHEMA["classes"]
ROOTS: dict[str, str] = _SCHEMA["roots"]
SDK_VERSION: str = _SCHEMA["sdk_version"]

# Every API version Stripe accepts, oldest first, and every webhook event type (both enums of
# WebhookEndpointCreateParams: ``api_version``, ``enabled_events``).
_WE = CLASSES["WebhookEndpointCreateParams"]["fields"]
API_VERSIONS: tuple[str, ...] = tuple(_WE["api_version"]["enum"])
EVENT_TYPES: frozenset[str] = frozenset(_WE["enabled_events"]["list"]["enum"]) - {"*"}

_INT_RE = re.compile(r"^-?\d+$")
_FLOAT_RE = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")


def one_of(values: list[str]) -> str:
    """Stripe's enum wording: ``a, b, or c``."""
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else None


def check_value(value: Any, spec: Any, param: str) -> None:
    """Raise the StripeApiError Stripe would answer for ``value`` at ``param``."""
    if spec == "any":
        return
    if spec == "str":
        if _text(value) is None:
            raise invalid(param, f"Invalid string: {_render(value)}")
        return
    if spec == "bool":
        if not isinstance(value, bool):
            raise invalid(param, f"Invalid boolean: {_render(value)}")
        return
    if spec == "int":
        if not (isinstance(value, str) and _INT_RE.match(value.strip())) and not (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            raise invalid(
                param, f"Invalid integer: {_render(value)}", code="parameter_invalid_integer"
            )
        return
    if spec == "float":
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric and not (isinstance(value, str) and _FLOAT_RE.match(value.strip())):
            raise invalid(param, f"Invalid decimal: {_render(value)}")
        return
    if spec == "map":
        if not isinstance(value, dict):
            raise invalid(param, "Invalid object")
        return
    if "enum" in spec:
        text = _text(value)
        if text is None or text not in spec["enum"]:
            if spec["enum"] == [""]:
                raise invalid(param, f"Invalid {param}: must be an empty string to unset it")
            raise invalid(param, f"Invalid {param}: must be one of {one_of(spec['enum'])}")
        return
    if "list" in spec:
        if isinstance(value, dict) and value and all(k.isdigit() for k in value):
            value = [value[k] for k in sorted(value, key=int)]
        if not isinstance(value, list):
            raise invalid(param, "Invalid array")
        for i, item in enumerate(value):
            check_value(item, spec["list"], f"{param}[{i}]")
        return
    if "obj" in spec:
        if not isinstance(value, dict):
            raise invalid(param, "Invalid object")
        check_object(value, spec["obj"], param)
        return
    if "union" in spec:
        errors: list[StripeApiError] = []
        for alt in spec["union"]:
            try:
                check_value(value, alt, param)
                return
            except StripeApiError as exc:
                errors.append(exc)
        # Report against the alternative of the value's own shape (a hash -> the object rules).
        for alt, err in zip(spec["union"], errors, strict=True):
            if isinstance(value, dict) and isinstance(alt, dict) and "obj" in alt:
                raise err
            if isinstance(value, list) and isinstance(alt, dict) and "list" in alt:
                raise err
        raise errors[-1] if _text(value) is None else errors[0]
    raise AssertionError(f"unknown schema spec {spec!r}")


def check_object(params: dict[str, Any], class_name: str, prefix: str = "") -> None:
    cls = CLASSES[class_name]
    fields: dict[str, Any] = cls["fields"]
    for key, value in params.items():
        param = f"{prefix}[{key}]" if prefix else key
        if key not in fields:
            raise unknown_parameter(param)
        check_value(value, fields[key], param)
    for key in cls["required"]:
        if key not in params:
            raise missing(f"{prefix}[{key}]" if prefix else key)


def validate_params(endpoint: str, params: dict[str, Any]) -> None:
    """Validate a whole request (``endpoint`` as in ``schema.json`` ``roots``)."""
    check_object(params, ROOTS[endpoint])


def _render(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
