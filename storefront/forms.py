"""The checkout form: server name, region, and the egg variables a plan lets the customer
choose, each input built from the egg's Laravel rules and checked with the same rules (and the
panel's wording) as `catalog.variables.variables_validate` before any payment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from billing.services import SERVER_NAME_MAX
from catalog.models import Plan
from catalog.variables import (
    number_text,
    numeric_rule_bounds,
    plan_bound_errors,
    rule_errors,
    variable_bounds_for,
)
from storefront.selectors import RegionOffer


@dataclass
class VariableInput:
    env: str
    label: str
    description: str
    # The egg's own name for it: error messages say it as variables_validate does.
    egg_label: str
    rules: str
    value: str
    kind: str = "text"  # text | number | select
    choices: list[str] = field(default_factory=list)
    required: bool = False
    min: str | None = None
    max: str | None = None
    maxlength: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"var_{self.env}"


def _rule_tokens(rules: str) -> list[tuple[str, str]]:
    # Only for choosing the input; a regex (which may hold '|') ends the list.
    out = []
    for token in rules.split("|"):
        name, _, arg = token.partition(":")
        if name in {"regex", "not_regex"}:
            break
        out.append((name.strip(), arg))
    return out


def _number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


# Egg variables that name the server inside the game (what players see in the game's server
# list), told apart from our own server name, which only the dashboard shows.
_GAME_NAME_VARIABLES = re.compile(r"^(HOSTNAME|SERVER_NAME|SESSION_NAME|SERVERNAME)$")
SERVER_NAME_LABEL = "Server name (shown in your dashboard)"


def variable_label(spec: dict) -> str:
    label = str(spec.get("name") or spec["env_variable"])
    if _GAME_NAME_VARIABLES.match(str(spec.get("env_variable") or "")):
        return f"Name in the server browser (the game's “{label}”)"
    return label


def variable_input(*, spec: dict, value: str | None, plan: Plan | None = None) -> VariableInput:
    rules = str(spec.get("rules") or "")
    tokens = _rule_tokens(rules)
    names = {n for n, _ in tokens}
    default = "" if spec.get("default_value") is None else str(spec["default_value"])
    item = VariableInput(
        env=spec["env_variable"],
        label=variable_label(spec),
        egg_label=str(spec.get("name") or spec["env_variable"]),
        description=spec.get("description") or "",
        rules=rules,
        value=default if value is None else value,
        required="required" in names,
    )
    numeric = bool(names & {"integer", "numeric"})
    for name, arg in tokens:
        if name == "in":
            item.kind = "select"
            item.choices = arg.split(",")
        elif not numeric and name in {"max", "size"} and arg.isdigit():
            item.maxlength = int(arg)
    # min/max: the egg's rules (between, min, max, digits...) narrowed by the plan's bounds,
    # the same figures variables_validate enforces.
    bounds = (
        variable_bounds_for(plan=plan, env_name=item.env)
        if plan is not None
        else numeric_rule_bounds(rules)
    )
    if bounds is not None:
        item.min = None if bounds.min is None else number_text(bounds.min)
        item.max = None if bounds.max is None else number_text(bounds.max)
        if item.kind != "select":
            item.kind = "number"
    return item


def variable_inputs(*, plan: Plan, data: Mapping[str, str] | None = None) -> list[VariableInput]:
    inputs = []
    for env in plan.offered_variables():
        spec = plan.egg.variable(env)
        if spec is None:
            continue
        value = None if data is None else str(data.get(f"var_{env}", "")).strip()
        inputs.append(variable_input(spec=spec, value=value, plan=plan))
    return inputs


@dataclass
class CheckoutForm:
    """Parsed and checked POST data; `errors` maps a field (or "form") to messages."""

    plan: Plan
    regions: list[RegionOffer]
    server_name: str = ""
    region: str = ""
    variables: list[VariableInput] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def empty(cls, *, plan: Plan, regions: list[RegionOffer], prefer: str = "") -> CheckoutForm:
        """`prefer`: a region to pre-select if it has stock (the waitlist mail's link)."""
        open_slugs = [r.region.slug for r in regions if not r.sold_out]
        first = prefer if prefer in open_slugs else next(iter(open_slugs), "")
        return cls(plan=plan, regions=regions, region=first, variables=variable_inputs(plan=plan))

    @classmethod
    def bind(
        cls, *, plan: Plan, regions: list[RegionOffer], data: Mapping[str, str]
    ) -> CheckoutForm:
        form = cls(
            plan=plan,
            regions=regions,
            server_name=str(data.get("server_name", "")).strip(),
            region=str(data.get("region", "")),
            variables=variable_inputs(plan=plan, data=data),
        )
        form.check()
        return form

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def check(self) -> None:
        if not self.server_name:
            self.add_error("server_name", "Give your server a name.")
        elif len(self.server_name) > SERVER_NAME_MAX:
            self.add_error(
                "server_name", f"The server name may be at most {SERVER_NAME_MAX} characters."
            )
        offer = next((r for r in self.regions if r.region.slug == self.region), None)
        if offer is None:
            self.add_error("region", "Pick a region.")
        elif offer.sold_out:
            self.add_error("region", f"{offer.region.name} is sold out. Pick another region.")
        for var in self.variables:
            label = f"{var.egg_label} variable"
            var.errors = rule_errors(var.value, var.rules, label) or plan_bound_errors(
                plan=self.plan, env_name=var.env, value=var.value, label=label
            )

    @property
    def valid(self) -> bool:
        return not self.errors and not any(v.errors for v in self.variables)

    @property
    def chosen(self) -> dict[str, str]:
        return {v.env: v.value for v in self.variables}
