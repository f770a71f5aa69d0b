"""A small, readable re-implementation of the Laravel validation rules used by Pterodactyl eggs.

The panel validates every egg variable with a Laravel rule string such as
``required|regex:/^([\\w\\d._-]+)(\\.jar)$/`` or ``nullable|string|max:20``. This module reproduces
those semantics with the standard library only, so that the same behaviour can be reused (by
copying, not importing) in a storefront form.

Entry point::

    validate(value, "required|string|max:20", "Build Number variable")
    -> [("max", "The Build Number variable may not be greater than 20 characters.")]

Semantics copied from Laravel's ``Validator``:

* a rule string is split on ``|`` (like Laravel, a regex containing ``|`` would be split too);
* ``nullable``: a null value skips every non-implicit rule;
* implicit rules (``required``, ``present``) run even when the value is absent; other rules run only
  when the key is present (``present=True``), which for egg variables is always the case because
  the panel validates a missing variable as null;
* when an implicit rule fails the remaining rules of that attribute are skipped; otherwise every
  failing rule is reported (``bail`` stops at the first failure);
* ``min``/``max``/``between``/``size`` measure numbers when the rule list has ``numeric`` or
  ``integer``, item counts for lists, and characters otherwise.

Message wording: the panel ships its own ``resources/lang/en/validation.php`` (Laravel 5 era
wording) which overrides the framework's Laravel 11 file for every key it defines, so a real panel
answers ``The X may not be greater than 20 characters.`` rather than Laravel 11's
``The X field must not be greater than 20 characters.``. ``PANEL_MESSAGES`` is that file;
``LARAVEL11_MESSAGES`` is the stock Laravel 11 wording, selectable with ``messages=``.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .email_rfc import is_valid_email
from .url_rule import is_valid_url

__all__ = [
    "LARAVEL11_MESSAGES",
    "PANEL_MESSAGES",
    "CustomRule",
    "filter_validate_int",
    "is_numeric",
    "php_regex",
    "validate",
]

Message = str | dict[str, str]

#: Messages from the panel's resources/lang/en/validation.php (what a real panel returns).
PANEL_MESSAGES: dict[str, Message] = {
    "alpha_dash": "The :attribute may only contain letters, numbers, and dashes.",
    "alpha_num": "The :attribute may only contain letters and numbers.",
    "array": "The :attribute must be an array.",
    "between": {
        "numeric": "The :attribute must be between :min and :max.",
        "string": "The :attribute must be between :min and :max characters.",
        "array": "The :attribute must have between :min and :max items.",
    },
    "boolean": "The :attribute field must be true or false.",
    "digits": "The :attribute must be :digits digits.",
    "digits_between": "The :attribute must be between :min and :max digits.",
    "email": "The :attribute must be a valid email address.",
    "exists": "The selected :attribute is invalid.",
    "in": "The selected :attribute is invalid.",
    "integer": "The :attribute must be an integer.",
    "max": {
        "numeric": "The :attribute may not be greater than :max.",
        "string": "The :attribute may not be greater than :max characters.",
        "array": "The :attribute may not have more than :max items.",
    },
    "min": {
        "numeric": "The :attribute must be at least :min.",
        "string": "The :attribute must be at least :min characters.",
        "array": "The :attribute must have at least :min items.",
    },
    "not_in": "The selected :attribute is invalid.",
    "numeric": "The :attribute must be a number.",
    "present": "The :attribute field must be present.",
    "regex": "The :attribute format is invalid.",
    "required": "The :attribute field is required.",
    "required_with": "The :attribute field is required when :values is present.",
    "required_without": "The :attribute field is required when :values is not present.",
    "size": {
        "numeric": "The :attribute must be :size.",
        "string": "The :attribute must be :size characters.",
        "array": "The :attribute must contain :size items.",
    },
    "string": "The :attribute must be a string.",
    "unique": "The :attribute has already been taken.",
    "url": "The :attribute format is invalid.",
}

#: Stock Laravel 11 wording (framework lang/en/validation.php), for comparison or reuse.
LARAVEL11_MESSAGES: dict[str, Message] = {
    "alpha_dash": (
        "The :attribute field must only contain letters, numbers, dashes, and underscores."
    ),
    "alpha_num": "The :attribute field must only contain letters and numbers.",
    "array": "The :attribute field must be an array.",
    "between": {
        "numeric": "The :attribute field must be between :min and :max.",
        "string": "The :attribute field must be between :min and :max characters.",
        "array": "The :attribute field must have between :min and :max items.",
    },
    "boolean": "The :attribute field must be true or false.",
    "digits": "The :attribute field must be :digits digits.",
    "digits_between": "The :attribute field must be between :min and :max digits.",
    "email": "The :attribute field must be a valid email address.",
    "exists": "The selected :attribute is invalid.",
    "in": "The selected :attribute is invalid.",
    "integer": "The :attribute field must be an integer.",
    "max": {
        "numeric": "The :attribute field must not be greater than :max.",
        "string": "The :attribute field must not be greater than :max characters.",
        "array": "The :attribute field must not have more than :max items.",
    },
    "min": {
        "numeric": "The :attribute field must be at least :min.",
        "string": "The :attribute field must be at least :min characters.",
        "array": "The :attribute field must have at least :min items.",
    },
    "not_in": "The selected :attribute is invalid.",
    "numeric": "The :attribute field must be a number.",
    "present": "The :attribute field must be present.",
    "regex": "The :attribute field format is invalid.",
    "required": "The :attribute field is required.",
    "required_with": "The :attribute field is required when :values is present.",
    "required_without": "The :attribute field is required when :values is not present.",
    "size": {
        "numeric": "The :attribute field must be :size.",
        "string": "The :attribute field must be :size characters.",
        "array": "The :attribute field must contain :size items.",
    },
    "string": "The :attribute field must be a string.",
    "unique": "The :attribute has already been taken.",
    "url": "The :attribute field must be a valid URL.",
}

IMPLICIT = {"required", "present", "required_with", "required_without", "accepted", "filled"}
NUMERIC_RULES = {"numeric", "integer"}
SIZE_RULES = {"min", "max", "between", "size"}

# PHP is_numeric(): optional leading and (PHP 8) trailing whitespace, ASCII digits only.
_NUMERIC_RE = re.compile(
    r"^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$", re.ASCII
)
# PHP filter_var($v, FILTER_VALIDATE_INT) on a string (ext/filter/logical_filters.c
# php_filter_int): surrounding whitespace trimmed, then "0", or an optional sign and a digit
# 1-9 followed by digits ("+0"/"-0" too), within a 64-bit integer. "05" and "1.0" fail.
_FILTER_INT_RE = re.compile(r"^[ \t\n\r\v]*(?:0|[+-]?0|[+-]?[1-9][0-9]*)[ \t\n\r\v]*$", re.ASCII)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class CustomRule:
    """A rule implemented in Python (e.g. ``exists``/``unique``/``p_username``).

    ``passes`` receives the value; ``message`` is a template using ``:attribute``.
    """

    name: str
    passes: Callable[[Any], bool]
    message: str
    implicit: bool = False


def is_numeric(value: Any) -> bool:
    """PHP ``is_numeric``: ints/floats (not bools) and numeric strings."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(_NUMERIC_RE.match(value))


def filter_validate_int(value: Any) -> bool:
    """Laravel's ``integer`` rule: ``filter_var($value, FILTER_VALIDATE_INT) !== false``
    (laravel/framework v10.1.4 src/Illuminate/Validation/Concerns/ValidatesAttributes.php).

    A scalar is first turned into its PHP string: ``true`` -> "1" passes, ``false`` -> "" fails,
    the float 5.0 -> "5" passes, 1e20 -> "1.0E+20" fails. Strings: "05", "1.0", "1e3", "0x1A"
    and digits outside ASCII fail; " 7 ", "+7", "-0" pass.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _INT64[0] <= value <= _INT64[1]
    if isinstance(value, float):
        # PHP turns a float into a string with precision 14 (%.14G): exponent form from 1e14.
        return value.is_integer() and abs(value) < 1e14
    if not isinstance(value, str) or not _FILTER_INT_RE.match(value):
        return False
    return _INT64[0] <= int(value.strip(" \t\n\r\v")) <= _INT64[1]


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str) and value.strip() == "":
        return True
    return isinstance(value, list | dict) and len(value) == 0


def _php_loose_equal(a: str, b: str) -> bool:
    """PHP 8 ``==`` between two strings: numerically when both are numeric strings."""
    if is_numeric(a) and is_numeric(b):
        return float(a) == float(b)
    return a == b


def _php_str(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def php_regex(expression: str) -> re.Pattern[str]:
    """Translate a PHP PCRE literal (``/pattern/flags``, any delimiter) to a Python pattern."""
    if not expression:
        raise ValueError("empty regex")
    delim = expression[0]
    closing = {"(": ")", "{": "}", "[": "]", "<": ">"}.get(delim, delim)
    end = expression.rfind(closing)
    if end <= 0:
        raise ValueError(f"no ending delimiter in {expression!r}")
    body, flags_str = expression[1:end], expression[end + 1 :]
    flags = 0 if "u" in flags_str else re.ASCII
    for char, flag in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
        if char in flags_str:
            flags |= flag
    if "D" in flags_str:
        body = re.sub(r"(?<!\\)\$$", r"\\Z", body)
    return re.compile(body, flags)


def _parse(rules: str | Sequence[str | CustomRule]) -> list[tuple[str, list[str]] | CustomRule]:
    items = rules.split("|") if isinstance(rules, str) else list(rules)
    parsed: list[tuple[str, list[str]] | CustomRule] = []
    for item in items:
        if isinstance(item, CustomRule):
            parsed.append(item)
            continue
        item = item.strip()
        if not item:
            continue
        name, _, param = item.partition(":")
        name = name.strip().lower()
        # ValidationRuleParser::normalizeRule: 'int' and 'bool' are aliases.
        name = {"int": "integer", "bool": "boolean"}.get(name, name)
        if name in {"regex", "not_regex"}:
            params = [param]
        elif param:
            # ValidationRuleParser::parseParameters: str_getcsv(), no trimming.
            params = next(csv.reader([param], delimiter=",", quotechar='"', escapechar="\\"))
        else:
            params = []
        parsed.append((name, params))
    return parsed


def _size(value: Any, numeric: bool) -> float:
    if numeric and is_numeric(value):
        return float(value)
    if isinstance(value, list | dict):
        return float(len(value))
    return float(len(_php_str(value)))


def _check(name: str, params: list[str], value: Any, numeric: bool) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return filter_validate_int(value)
    if name == "numeric":
        return is_numeric(value)
    if name == "boolean":
        return value in (True, False, 0, 1, "0", "1") and not isinstance(value, float)
    if name == "array":
        return isinstance(value, list | dict)
    if name in {"max", "min", "size", "between"}:
        # A non-numeric string under a numeric rule is measured by its length (as Laravel
        # does); the numeric rule itself reports the type error.
        size = _size(value, numeric)
        nums = [float(p) for p in params]
        if name == "max":
            return size <= nums[0]
        if name == "min":
            return size >= nums[0]
        if name == "size":
            return size == nums[0]
        return nums[0] <= size <= nums[1]
    if name == "regex" or name == "not_regex":
        if not isinstance(value, str) and not is_numeric(value):
            return False
        try:
            found = php_regex(params[0]).search(_php_str(value)) is not None
        except (ValueError, re.error):
            return False
        return found if name == "regex" else not found
    if name in {"alpha_dash", "alpha_num"}:
        # Laravel 10.1.4: /\A[\pL\pM\pN_-]+\z/u (alpha_dash) and /\A[\pL\pM\pN]+\z/u; with the
        # "ascii" parameter only [a-zA-Z0-9] (plus _-).
        if not isinstance(value, str) and not is_numeric(value):
            return False
        text = _php_str(value)
        extra = "_-" if name == "alpha_dash" else ""
        if params and params[0] == "ascii":
            return bool(text) and all((c.isascii() and c.isalnum()) or c in extra for c in text)
        return bool(text) and all(unicodedata.category(c)[0] in "LMN" or c in extra for c in text)
    if name in {"in", "not_in"}:
        # validateIn: ``! is_array($value) && in_array((string) $value, $parameters)`` with PHP's
        # loose ==, so "01" is in "1" (two numeric strings compare as numbers).
        found = not isinstance(value, list | dict) and any(
            _php_loose_equal(_php_str(value), p) for p in params
        )
        return found if name == "in" else not found
    if name == "digits":
        text = _php_str(value)
        return (
            not isinstance(value, list | dict)
            and text.isdigit()
            and text.isascii()
            and len(text) == int(params[0])
        )
    if name == "digits_between":
        text = _php_str(value)
        return (
            not isinstance(value, list | dict)
            and text.isdigit()
            and text.isascii()
            and int(params[0]) <= len(text) <= int(params[1])
        )
    if name == "url":
        return is_valid_url(value)
    if name == "email":
        return is_valid_email(value)
    # Rules no v1.11.8 stock egg uses are not implemented and pass (docs/panel-sandbox.md).
    return True


def _message(
    name: str,
    params: list[str],
    attribute: str,
    numeric: bool,
    value: Any,
    messages: Mapping[str, Message],
) -> str:
    template = messages.get(name, f"validation.{name}")
    if isinstance(template, dict):
        kind = "numeric" if numeric else ("array" if isinstance(value, list | dict) else "string")
        template = template[kind]
    text = template.replace(":attribute", attribute)
    if name in {"max", "size", "digits"}:
        key = {"max": ":max", "size": ":size", "digits": ":digits"}[name]
        text = text.replace(key, params[0])
    elif name == "min":
        text = text.replace(":min", params[0])
    elif name in {"between", "digits_between"}:
        text = text.replace(":min", params[0]).replace(":max", params[1])
    elif name in {"required_with", "required_without"}:
        text = text.replace(":values", " / ".join(p.replace("_", " ") for p in params))
    return text


def validate(
    value: Any,
    rules: str | Sequence[str | CustomRule],
    attribute: str,
    *,
    present: bool = True,
    context: Mapping[str, Any] | None = None,
    messages: Mapping[str, Message] = PANEL_MESSAGES,
) -> list[tuple[str, str]]:
    """Validate one value against a Laravel rule string.

    ``present`` says whether the key existed in the input (egg variables: always treat as
    present; a missing variable is validated as null). ``context`` holds sibling input for
    ``required_with``/``required_without`` (mapping of attribute name to value; absent keys are
    simply not in it). Returns ``[(rule, message), ...]``; empty means valid.
    """
    parsed = _parse(rules)
    names = {p[0] for p in parsed if isinstance(p, tuple)}
    numeric = bool(names & NUMERIC_RULES)
    nullable = "nullable" in names
    sometimes = "sometimes" in names
    bail = "bail" in names
    if sometimes and not present:
        return []
    ctx = context or {}
    errors: list[tuple[str, str]] = []
    for rule in parsed:
        if isinstance(rule, CustomRule):
            name, implicit = rule.name, rule.implicit
        else:
            name, params = rule
            implicit = name in IMPLICIT
            if name in {"nullable", "sometimes", "bail"}:
                continue
        if not implicit and (not present or (nullable and value is None)):
            continue
        if isinstance(rule, CustomRule):
            ok = rule.passes(value)
            msg = rule.message.replace(":attribute", attribute)
        else:
            if name == "required":
                ok = present and not _is_empty(value)
            elif name == "present":
                ok = present
            elif name == "required_with":
                needed = any(k in ctx and not _is_empty(ctx[k]) for k in params)
                ok = not needed or (present and not _is_empty(value))
            elif name == "required_without":
                needed = any(k not in ctx or _is_empty(ctx[k]) for k in params)
                ok = not needed or (present and not _is_empty(value))
            else:
                ok = _check(name, params, value, numeric)
            msg = "" if ok else _message(name, params, attribute, numeric, value, messages)
        if not ok:
            errors.append((name, msg))
            if bail or implicit:
                break
    return errors
