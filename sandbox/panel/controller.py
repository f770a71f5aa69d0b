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
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import rules as rulelib
from .http import GENERIC_500, ApiError, Request, Response, ValidationFailed
from .state import Record, collate
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
    """``->paginate($request->query('per_page') ?? 50)`` as laravel/framework v10.1.4 runs it
    (src/Illuminate/Database/Eloquent/Builder.php paginate, Query/Builder.php forPage/limit,
    Pagination/LengthAwarePaginator.php), rendered by Fractal's paginator adapter.

    * per_page absent -> 50; 0 or "0" (falsy) -> the model's 15; a negative value sets no
      LIMIT (every row on one page); a fraction is cut to an integer for LIMIT and the reported
      per_page but not for the page count; a non-numeric string is a PHP TypeError (500).
    * page = Paginator::resolveCurrentPage(): FILTER_VALIDATE_INT and >= 1, else 1 ("05" -> 1);
      a page past the end is returned empty, not clamped.
    """
    raw = ctx.q("per_page")
    if raw is None:
        raw = 50
    if isinstance(raw, list | dict) or (isinstance(raw, str) and not rulelib.is_numeric(raw)):
        raise ApiError(500, "TypeError", GENERIC_500)
    size = float(raw)
    if size == 0:
        size = 15.0
    raw_page = ctx.q("page")
    page = int(str(raw_page).strip()) if rulelib.filter_validate_int(raw_page) else 1
    if page < 1:
        page = 1
    total = len(items)
    total_pages = max(1, math.ceil(total / size))
    offset = max(0, int((page - 1) * size))
    chunk = items[offset:] if size < 0 else items[offset : offset + int(size)]
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
                "per_page": int(size),
                "current_page": page,
                "total_pages": total_pages,
                "links": links,
            }
        },
    }


def php_empty(value: Any) -> bool:
    """PHP ``empty()``: null, false, 0, 0.0, "", "0" and empty arrays."""
    if value is None or value is False:
        return True
    if value is True:
        return False
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str):
        return value in ("", "0")
    if isinstance(value, list | dict):
        return not value
    return False


def php_str(value: Any) -> str:
    """PHP's string of a scalar: true -> "1", false/null -> ""."""
    if value is True:
        return "1"
    if value is None or value is False:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def filter_value(value: Any) -> Any:
    """spatie/laravel-query-builder 5.1.2 src/QueryBuilderRequest.php ``getFilterValue``: a
    string with a comma becomes a list (its parts are *not* turned into booleans), "true" and
    "false" become booleans, arrays are mapped item by item, empty values pass unchanged."""
    if php_empty(value):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [filter_value(v) for v in value]
    if isinstance(value, str) and "," in value:
        return value.split(",")
    if value == "true":
        return True
    if value == "false":
        return False
    return value


Filter = Callable[[Record, Any], bool]


def query(
    ctx: Ctx,
    items: list[Record],
    filters: dict[str, Filter],
    sorts: dict[str, Callable[[Record], Any]],
) -> list[Record]:
    """``QueryBuilder::for(...)->allowedFilters([...])->allowedSorts([...])`` of spatie
    /laravel-query-builder 5.1.2 (src/Concerns/FiltersQuery.php, SortsQuery.php): unknown names
    are a 400 before anything runs; a null filter value (or an empty list) is no constraint."""
    raw_filters = ctx.q("filter")
    if isinstance(raw_filters, list):  # filter[]=x: the keys are 0, 1, ...
        raw_filters = {str(i): v for i, v in enumerate(raw_filters)}
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
            value = filter_value(raw)
            if value is None or (isinstance(value, list) and not value):
                continue  # AllowedFilter::resolveValueForFiltering() -> null: not applied
            items = [i for i in items if filters[name](i, value)]
    raw_sort = ctx.q("sort")
    if sorts and raw_sort is not None:
        if isinstance(raw_sort, dict):
            raw_sort = list(raw_sort.values())
        parts = raw_sort.split(",") if isinstance(raw_sort, str) else list(raw_sort)
        fields = [str(f) for f in parts if not php_empty(f)]  # collect()->filter()
        unknown = [f.lstrip("-") for f in fields if f.lstrip("-") not in sorts]
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


def _like_fold(text: str) -> str:
    # LIKE under utf8mb4_unicode_ci compares character by character, ignoring case and accents.
    out = []
    for c in text:
        base = "".join(x for x in unicodedata.normalize("NFD", c) if not unicodedata.combining(x))
        out.append((base or c).lower()[:1] or c)
    return "".join(out)


def _like(cell: Any, needle: Any) -> bool:
    """``LOWER(column) LIKE '%needle%'``: ``%`` and ``_`` in the needle are wildcards (spatie
    does not escape them), a backslash escapes the next character; NULL matches nothing."""
    if cell is None:
        return False
    pattern = []
    text = _like_fold(php_str(needle))
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            pattern.append(re.escape(text[i + 1]))
            i += 2
            continue
        pattern.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.search("".join(pattern), _like_fold(php_str(cell)), re.DOTALL) is not None


def partial(column: str) -> Filter:
    """spatie 5.1.2 src/Filters/FiltersPartial.php (the default for a plain filter name)."""

    def match(row: Record, value: Any) -> bool:
        cell = row.get(column)
        if isinstance(value, list):
            needles = [v for v in value if php_str(v) != ""]  # array_filter($value, 'strlen')
            return not needles or any(_like(cell, v) for v in needles)
        return _like(cell, value)

    return match


def exact(column: str, *, numeric: bool = False) -> Filter:
    """spatie 5.1.2 src/Filters/FiltersExact.php: ``where(column, value)`` or ``whereIn``, compared
    as MySQL does (strings under the case-insensitive collation, integer columns numerically)."""

    def equal(cell: Any, wanted: Any) -> bool:
        if cell is None:
            return False
        if numeric:
            match = re.match(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", php_str(wanted))
            return match is not None and float(match.group(0)) == float(cell)
        return collate(cell) == collate(php_str(wanted))

    def match(row: Record, value: Any) -> bool:
        cell = row.get(column)
        values = value if isinstance(value, list) else [value]
        return any(equal(cell, v) for v in values)

    return match


def includes(ctx: Ctx) -> dict[str, Any]:
    # ``$this->request->input('include', [])``: the JSON body counts as well as the query.
    return parse_includes(ctx.req.input.get("include", ctx.q("include")))


def resource_url(ctx: Ctx, path: str) -> dict[str, Any]:
    return {"resource": f"{ctx.req.base_url}/api/application/{path}"}
