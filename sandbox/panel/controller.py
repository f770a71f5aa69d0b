"""What every endpoint module shares: the request context, the validator, list helpers.

Upstream counterparts (pterodactyl/panel v1.11.8):
* ``Ctx`` and the list helpers: app/Http/Controllers/Api/Application/ApplicationApiController.php
  (Fractal serializer, ``include`` parsing) and spatie/laravel-query-builder's ``QueryBuilder``
  as the controllers use it (``allowedFilters``, ``allowedSorts``, ``paginate``).
* ``Validator``: Laravel's validator as the form requests under
  app/Http/Requests/Api/Application/ drive it; the rule semantics live in ``rules.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import rules as rulelib
from .http import ApiError, Request, Response, ValidationFailed
from .state import Record
from .transformers import Transformer, parse_includes

if TYPE_CHECKING:
    from .app import PanelApp
    from .routes import Route

# app/Exceptions/Http/Connection/DaemonConnectionException.php (the node's Wings is unreachable).
WINGS_DOWN = (
    "Could not establish a connection to the machine running this server. Please try again."
)


def daemon_unreachable() -> ApiError:
    return ApiError(504, "DaemonConnectionException", WINGS_DOWN)


@dataclass
class Ctx:
    """One request as a handler sees it: input, bound models, the key's user, a transformer."""

    app: PanelApp
    req: Request
    route: Route
    user: Record
    key: Record
    models: dict[str, Record]
    tx: Transformer

    def q(self, name: str) -> Any:
        return self.req.query.get(name)


Handler = Callable[[Ctx], Response]


class Validator:
    """Collects (source_field, rule, message) across fields, in declaration order."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: list[tuple[str, str, str]] = []

    def get(self, path: str) -> tuple[bool, Any]:
        node: Any = self.data
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return False, None
        return True, node

    def check(
        self,
        path: str,
        rules: str | list[str | rulelib.CustomRule],
        attribute: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> bool:
        present, value = self.get(path)
        attr = attribute or path.replace("_", " ")
        found = rulelib.validate(value, rules, attr, present=present, context=context)
        for rule, message in found:
            self.errors.append((path, rule, message))
        return not found

    def each(
        self,
        path: str,
        rules: str | list[str | rulelib.CustomRule],
        attribute: str | None = None,
    ) -> None:
        """``path.*``; ``attribute`` is a request's ``attributes()`` entry for ``path.*``."""
        present, value = self.get(path)
        if present and isinstance(value, list):
            for i in range(len(value)):
                self.check(f"{path}.{i}", rules, attribute)
        elif present and isinstance(value, dict):
            for k in value:
                self.check(f"{path}.{k}", rules, attribute)

    def has(self, path: str) -> bool:
        return any(e[0] == path for e in self.errors)

    def raise_if_failed(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def as_int(value: Any) -> int:
    return int(float(value))


def as_num(value: Any) -> int | float:
    """Store a validated numeric input the way MySQL integer columns would."""
    return int(float(value))


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value not in ("0", "", "false")
    return bool(value)


def exists(table: dict[int, Record], attr_rule: str = "exists") -> rulelib.CustomRule:
    """Laravel ``exists:<table>,id`` against one of the sandbox's tables."""
    return rulelib.CustomRule(
        attr_rule,
        lambda value: (
            rulelib.is_numeric(value) and float(value).is_integer() and int(float(value)) in table
        ),
        "The selected :attribute is invalid.",
    )


# ------------------------------------------------------------------------------ list helpers
def paginate(
    ctx: Ctx, items: list[Record], render: Callable[[Record], dict[str, Any]]
) -> dict[str, Any]:
    try:
        per_page = int(str(ctx.q("per_page") if ctx.q("per_page") is not None else 50))
    except ValueError:
        per_page = 0
    if per_page <= 0:
        per_page = 15
    try:
        page = int(str(ctx.q("page") or 1))
    except ValueError:
        page = 1
    page = max(page, 1)
    total = len(items)
    total_pages = max(1, math.ceil(total / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links: dict[str, str] = {}
    url = ctx.req.base_url + ctx.req.path.rstrip("/")
    if page > 1:
        links["previous"] = f"{url}?page={page - 1}"
    if page < total_pages:
        links["next"] = f"{url}?page={page + 1}"
    return {
        "object": "list",
        "data": [render(i) for i in chunk],
        "meta": {
            "pagination": {
                "total": total,
                "count": len(chunk),
                "per_page": per_page,
                "current_page": page,
                "total_pages": total_pages,
                "links": links,
            }
        },
    }


def _filter_values(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, list):
        values = value
    elif isinstance(value, str) and "," in value:
        values = [v for v in value.split(",")]
    else:
        values = [value]
    out: list[Any] = []
    for v in values:
        if v == "true":
            out.append(True)
        elif v == "false":
            out.append(False)
        elif v not in (None, ""):
            out.append(v)
    return out or None


def query(
    ctx: Ctx,
    items: list[Record],
    filters: dict[str, Callable[[Record, list[Any]], bool]],
    sorts: dict[str, Callable[[Record], Any]],
) -> list[Record]:
    raw_filters = ctx.q("filter")
    if isinstance(raw_filters, dict):
        unknown = [k for k in raw_filters if k not in filters]
        if unknown:
            raise ApiError(
                400,
                "InvalidFilterQuery",
                f"Requested filter(s) `{', '.join(unknown)}` are not allowed. "
                f"Allowed filter(s) are `{', '.join(filters)}`.",
            )
        for name, raw in raw_filters.items():
            values = _filter_values(raw)
            if values is not None:
                items = [i for i in items if filters[name](i, values)]
    raw_sort = ctx.q("sort")
    if isinstance(raw_sort, str) and sorts:
        fields = [s.strip() for s in raw_sort.split(",") if s.strip()]
        unknown = [s.lstrip("-") for s in fields if s.lstrip("-") not in sorts]
        if unknown:
            raise ApiError(
                400,
                "InvalidSortQuery",
                f"Requested sort(s) `{', '.join(unknown)}` is not allowed. "
                f"Allowed sort(s) are `{', '.join(sorts)}`.",
            )
        for f in reversed(fields):
            items = sorted(items, key=sorts[f.lstrip("-")], reverse=f.startswith("-"))
    return items


def partial(column: str) -> Callable[[Record, list[Any]], bool]:
    def match(row: Record, values: list[Any]) -> bool:
        cell = row.get(column)
        if cell is None:
            return False
        text = str(cell).lower()
        return any(str(v).lower() in text for v in values if not isinstance(v, bool))

    return match


def includes(ctx: Ctx) -> dict[str, Any]:
    return parse_includes(ctx.q("include"))


def resource_url(ctx: Ctx, path: str) -> dict[str, Any]:
    return {"resource": f"{ctx.req.base_url}/api/application/{path}"}
