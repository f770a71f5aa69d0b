"""Egg variables: the customer's choices checked with the egg's own rules, and the full map
the panel is sent.

The panel validates `environment` with Laravel rule strings (`required|string|max:20`,
`required|regex:/^([\\w\\d._-]+)(\\.jar)$/` ...). We check a customer's choices with the same
rules before they pay, so a value the panel would refuse never reaches a paid order.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlparse

from catalog.models import Egg, Plan
from core.errors import ServiceError


class VariableError(ServiceError):
    status = 422
    code = "invalid_variable"


def _split_rules(rules: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    # A regex may itself contain '|', so take everything after 'regex:' up to the closing
    # delimiter as one rule.
    rest = rules
    while rest:
        if rest.startswith("regex:") or rest.startswith("not_regex:"):
            name, _, body = rest.partition(":")
            delim = body[:1]
            end = body.rfind(delim)
            # flags follow the closing delimiter, then an optional '|'
            close = body.find("|", end) if end > 0 else -1
            arg = body if close == -1 else body[:close]
            out.append((name, arg))
            rest = "" if close == -1 else body[close + 1 :]
            continue
        token, _, rest = rest.partition("|")
        name, _, arg = token.partition(":")
        if name:
            out.append((name.strip(), arg))
    return out


def _php_regex(pattern: str) -> re.Pattern[str]:
    delim = pattern[0]
    end = pattern.rfind(delim)
    body, flags = pattern[1:end], pattern[end + 1 :]
    py_flags = 0
    if "i" in flags:
        py_flags |= re.IGNORECASE
    if "m" in flags:
        py_flags |= re.MULTILINE
    if "s" in flags:
        py_flags |= re.DOTALL
    if "x" in flags:
        py_flags |= re.VERBOSE
    return re.compile(body, py_flags)


def _is_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def rule_errors(value: str | None, rules: str, label: str) -> list[str]:
    """Messages for `value` under a Laravel rule string, worded as the panel words them (its
    own resources/lang/en/validation.php, which differs from Laravel 11's)."""
    parsed = _split_rules(rules)
    names = {name for name, _ in parsed}
    empty = value is None or value == ""
    if empty:
        if "required" in names:
            return [f"The {label} field is required."]
        return []
    assert value is not None
    numeric = bool(names & {"integer", "numeric"})
    errors: list[str] = []
    for name, arg in parsed:
        message: str | None = None
        if name == "string" or name in {"nullable", "required", "sometimes", "present"}:
            pass
        elif name == "integer" and not re.fullmatch(r"[+-]?\d+", value):
            message = f"The {label} must be an integer."
        elif name == "numeric" and not _is_numeric(value):
            message = f"The {label} must be a number."
        elif name == "boolean" and value not in {"0", "1"}:  # the string "true" fails
            message = f"The {label} field must be true or false."
        elif name == "alpha_dash" and not re.fullmatch(r"[\w-]+", value):
            message = f"The {label} may only contain letters, numbers, and dashes."
        elif name == "alpha_num" and not re.fullmatch(r"[^\W_]+", value):
            message = f"The {label} may only contain letters and numbers."
        elif name == "url":
            parts = urlparse(value)
            if not (parts.scheme and parts.netloc):
                message = f"The {label} format is invalid."
        elif name in {"regex", "not_regex"}:
            matched = _php_regex(arg).search(value) is not None
            if matched != (name == "regex"):
                message = f"The {label} format is invalid."
        elif name == "in" and value not in arg.split(","):
            message = f"The selected {label} is invalid."
        elif name in {"max", "min", "size", "between"}:
            size = float(value) if numeric and _is_numeric(value) else len(value)
            unit = "" if numeric else " characters"
            bounds = [float(x) for x in arg.split(",")]
            if name == "max" and size > bounds[0]:
                message = f"The {label} may not be greater than {arg}{unit}."
            elif name == "min" and size < bounds[0]:
                message = f"The {label} must be at least {arg}{unit}."
            elif name == "size" and size != bounds[0]:
                message = f"The {label} must be {arg}{unit}."
            elif name == "between" and not bounds[0] <= size <= bounds[1]:
                low, high = arg.split(",")
                message = f"The {label} must be between {low} and {high}{unit}."
        elif name == "digits_between":
            min_digits, max_digits = (int(x) for x in arg.split(","))
            if not (value.isdigit() and min_digits <= len(value) <= max_digits):
                message = f"The {label} must be between {min_digits} and {max_digits} digits."
        elif name == "digits" and not (value.isdigit() and len(value) == int(arg)):
            message = f"The {label} must be {arg} digits."
        if message:
            errors.append(message)
    return errors


def variables_validate(*, plan: Plan, values: dict[str, Any]) -> dict[str, str]:
    """Check the customer's choices: only variables the plan offers, each valid under the
    egg's rules. Returns the values as strings (the panel stores text)."""
    # Only variables the egg marks user-editable, whatever the plan lists: the others are
    # the operator's (plan environment or egg default), never the customer's.
    allowed = set(plan.offered_variables())
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise VariableError(
            f"This plan does not let you choose {', '.join(unknown)}.", code="unknown_variable"
        )
    clean: dict[str, str] = {}
    problems: list[str] = []
    for env_name, raw in values.items():
        spec = plan.egg.variable(env_name)
        if spec is None:
            raise VariableError(f"The game has no setting {env_name}.", code="unknown_variable")
        value = "" if raw is None else str(raw).strip()
        problems += rule_errors(value, spec.get("rules", ""), f"{spec['name']} variable")
        clean[env_name] = value
    if problems:
        raise VariableError(" ".join(problems))
    return clean


def environment_for(*, egg: Egg, plan: Plan, chosen: dict[str, str]) -> dict[str, str]:
    """The full variable map for the panel: every egg variable, as a string. The panel does NOT
    apply an egg's defaults to variables left out (it stores ""), so we always send all."""
    env = {v["env_variable"]: str(v.get("default_value") or "") for v in egg.variables}
    env.update({k: _plan_value(str(v)) for k, v in plan.environment.items()})
    # A customer value for a variable the egg keeps for the operator never reaches the panel
    # (an order taken before the rule, or a plan edited since).
    env.update({k: v for k, v in chosen.items() if egg.user_editable(k)})
    return env


RANDOM_PLACEHOLDER = "{random}"


def _plan_value(value: str) -> str:
    # "{random}" gives each server its own secret (e.g. an RCON password the egg requires).
    return secrets.token_hex(12) if value == RANDOM_PLACEHOLDER else value
