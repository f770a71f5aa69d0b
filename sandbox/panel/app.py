"""The WSGI application: routing, the panel's middleware order, and every endpoint handler."""

from __future__ import annotations

import ipaddress
import json
import math
import random
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import rules as rulelib
from .faults import Faults
from .http import (
    GENERIC_500,
    STATUS_TEXT,
    ApiError,
    DroppedConnection,
    Request,
    ValidationFailed,
    display,
    html_error,
    json_response,
    not_found,
    parse_body,
    parse_php_query,
)
from .state import Record, State
from .transformers import Transformer, parse_includes

Response = tuple[int, list[tuple[str, str]], bytes]
Handler = Callable[["Ctx"], Response]

ADMIN_PREFIX = "/_sandbox/"
USERNAME_RE = re.compile(r"^[a-z0-9]([\w\.-]+)[a-z0-9]$", re.ASCII)
USERNAME_MESSAGE = (
    "The :attribute must start and end with alpha-numeric characters and\n"
    "                contain only letters, numbers, dashes, underscores, and periods."
)
IMAGE_RULE = r"regex:/^~?[\w\.\/\-:@ ]*$/"
WINGS_DOWN = (
    "Could not establish a connection to the machine running this server. Please try again."
)
RESERVED_ENV = {
    "SERVER_MEMORY",
    "SERVER_IP",
    "SERVER_PORT",
    "ENV",
    "HOME",
    "USER",
    "STARTUP",
    "SERVER_UUID",
    "UUID",
}


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    api: str  # "application" | "client"
    resource: str | None  # ACL resource for application routes


@dataclass
class Ctx:
    req: Request
    route: Route
    user: Record
    key: Record
    models: dict[str, Record]
    tx: Transformer

    def q(self, name: str) -> Any:
        return self.req.query.get(name)


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

    def each(self, path: str, rules: str | list[str | rulelib.CustomRule]) -> None:
        present, value = self.get(path)
        if present and isinstance(value, list):
            for i in range(len(value)):
                self.check(f"{path}.{i}", rules)
        elif present and isinstance(value, dict):
            for k in value:
                self.check(f"{path}.{k}", rules)

    def has(self, path: str) -> bool:
        return any(e[0] == path for e in self.errors)

    def raise_if_failed(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _int(value: Any) -> int:
    return int(float(value))


def _num(value: Any) -> int | float:
    """Store a validated numeric input the way MySQL integer columns would."""
    return int(float(value))


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value not in ("0", "", "false")
    return bool(value)


class PanelApp:
    """A WSGI callable imitating Pterodactyl panel v1.11 (see docs/panel-sandbox.md)."""

    def __init__(
        self,
        state: State,
        faults: Faults,
        clock: Callable[[], float],
        admin_key: Callable[[], str],
        reset: Callable[[], None],
        on_mutation: Callable[[], None],
    ) -> None:
        self.state = state
        self.faults = faults
        self.clock = clock
        self.admin_key = admin_key
        self.reset_state = reset
        self.on_mutation = on_mutation
        self.counters: dict[str, int] = {}
        self.counter_lock = threading.Lock()
        self.buckets: dict[tuple[str, str], list[float]] = {}
        self.rng = random.Random(faults.seed)
        self._rng_seed = faults.seed
        self.routes: list[Route] = []
        self._register_routes()

    # ================================================================== WSGI entry
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        req = self._build_request(environ)
        if req.path.startswith(ADMIN_PREFIX):
            status, headers, body = self._admin(req)
        else:
            status, headers, body = self._panel(req)
        if req.method == "HEAD":
            body = b""
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {STATUS_TEXT.get(status, 'Unknown')}", headers)
        return [body]

    def _build_request(self, environ: dict[str, Any]) -> Request:
        headers = {
            k[5:].replace("_", "-").lower(): str(v)
            for k, v in environ.items()
            if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = headers.get("host") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        base = self.state.panel_url or f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
        path = environ.get("PATH_INFO", "/") or "/"
        try:
            path = path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        return Request(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=path,
            query=parse_php_query(environ.get("QUERY_STRING", "")),
            headers=headers,
            body=body,
            base_url=base.rstrip("/"),
            remote_addr=environ.get("REMOTE_ADDR", "127.0.0.1"),
        )

    # ================================================================== admin endpoint
    def _admin(self, req: Request) -> Response:
        auth = req.headers.get("authorization", "")
        if auth != f"Bearer {self.admin_key()}":
            return json_response(
                401, {"error": "admin endpoint needs Authorization: Bearer <app_key>"}
            )
        path = req.path[len(ADMIN_PREFIX) :].rstrip("/")
        if path == "faults" and req.method == "GET":
            return json_response(200, self.faults.to_dict())
        if path == "faults" and req.method in ("PUT", "PATCH", "POST"):
            try:
                values = json.loads(req.body or b"{}")
            except ValueError:
                return json_response(400, {"error": "body must be JSON"})
            if not isinstance(values, dict):
                return json_response(400, {"error": "body must be a JSON object"})
            errors = self.faults.update(values)
            if errors:
                return json_response(400, {"error": "; ".join(errors)})
            return json_response(200, self.faults.to_dict())
        if path == "counters" and req.method == "GET":
            return json_response(200, self.counter_snapshot())
        if path == "counters/reset" and req.method == "POST":
            self.reset_counters()
            return json_response(204, None)
        if path == "reset" and req.method == "POST":
            self.reset_state()
            return json_response(204, None)
        if path == "installs/complete" and req.method == "POST":
            done = self.state.complete_installs(mode=self.faults.install_mode, delay=0)
            return json_response(200, {"completed": done})
        return json_response(404, {"error": f"unknown admin endpoint {req.method} {req.path}"})

    def counter_snapshot(self) -> dict[str, int]:
        with self.counter_lock:
            return dict(self.counters)

    def reset_counters(self) -> None:
        with self.counter_lock:
            self.counters.clear()
        self.buckets.clear()

    def _count(self, key: str) -> None:
        with self.counter_lock:
            self.counters[key] = self.counters.get(key, 0) + 1

    # ================================================================== panel pipeline
    def _random(self) -> float:
        if self.faults.seed != self._rng_seed:
            self._rng_seed = self.faults.seed
            self.rng.seed(self.faults.seed)
        return self.rng.random()

    def _match(self, req: Request) -> tuple[Route | None, dict[str, str], list[str]]:
        method = "GET" if req.method == "HEAD" else req.method
        allowed: list[str] = []
        for route in self.routes:
            m = route.regex.match(req.path)
            if not m:
                continue
            if route.method == method:
                return route, m.groupdict(), []
            allowed.append(route.method)
        return None, {}, allowed

    def _panel(self, req: Request) -> Response:
        route, params, allowed = self._match(req)
        key = f"{req.method} {route.template}" if route else f"{req.method} <unmatched>"
        self._count(key)
        rl_headers: list[tuple[str, str]] = []
        mutating = req.method in ("POST", "PATCH", "PUT", "DELETE")
        try:
            f = self.faults
            if f.latency:
                time.sleep(f.latency)
            if f.error_rate and self._random() < f.error_rate:
                raise ApiError(500, "HttpException", GENERIC_500)
            if f.throttle_rate and self._random() < f.throttle_rate:
                # A 429 as the panel's throttle sends it (headers included), on demand.
                now = self.clock()
                raise ApiError(
                    429,
                    "ThrottleRequestsException",
                    "Too Many Attempts.",
                    headers={
                        "X-RateLimit-Limit": str(f.rate_limit),
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": str(f.throttle_retry_after),
                        "X-RateLimit-Reset": str(math.ceil(now) + f.throttle_retry_after),
                    },
                )
            if f.timeout_rate and self._random() < f.timeout_rate:
                time.sleep(f.timeout_seconds)
                raise DroppedConnection("timeout fault")
            if route is None:
                path = req.path.lstrip("/")
                if allowed:
                    methods = list(dict.fromkeys(allowed))
                    if "GET" in methods:
                        methods.insert(methods.index("GET") + 1, "HEAD")
                    raise ApiError(
                        405,
                        "MethodNotAllowedHttpException",
                        f"The {req.method} method is not supported for route {path}. "
                        f"Supported methods: {', '.join(methods)}.",
                    )
                raise ApiError(
                    404, "NotFoundHttpException", f"The route {path} could not be found."
                )
            req.params = params
            parse_body(req)
            if self.state.complete_installs(mode=f.install_mode, delay=f.install_delay):
                self.on_mutation()
            response = self._dispatch(req, route, rl_headers)
            if mutating and f.drop_after_commit_rate and self._random() < f.drop_after_commit_rate:
                raise DroppedConnection("drop_after_commit fault")
            status, headers, body = response
            return status, headers + rl_headers, body
        except ApiError as exc:
            return self._render_error(req, exc, rl_headers + list(exc.headers.items()))
        except DroppedConnection:
            raise
        except Exception:  # a sandbox bug: answer like the panel's generic handler
            traceback.print_exc()
            generic = ApiError(500, "ErrorException", GENERIC_500)
            return self._render_error(req, generic, rl_headers)

    def _render_error(
        self, req: Request, exc: ApiError, headers: list[tuple[str, str]]
    ) -> Response:
        if req.wants_json:
            return json_response(exc.status, exc.body(), headers)
        if exc.status == 401:
            return 302, [*headers, ("Location", f"{req.base_url}/auth/login")], b""
        if exc.status == 422:
            back = req.headers.get("referer") or f"{req.base_url}/"
            return 302, [*headers, ("Location", back)], b""
        return (
            exc.status,
            [*headers, ("Content-Type", "text/html; charset=UTF-8")],
            html_error(exc.status, exc.detail),
        )

    def _authenticate(self, req: Request) -> tuple[Record, Record]:
        auth = req.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        unauth = ApiError(401, "AuthenticationException", "Unauthenticated.")
        if len(token) < 17:
            raise unauth
        key = self.state.api_keys.get(token[:16])
        if key is None or key["secret"] != token[16:]:
            raise unauth
        if key.get("expires_at") is not None and key["expires_at"] <= self.clock():
            raise unauth
        user = self.state.users.get(key["user_id"])
        if user is None:
            raise unauth
        return key, user

    def _ip_allowed(self, key: Record, ip: str) -> bool:
        if not key.get("allowed_ips"):
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        for cidr in key["allowed_ips"]:
            try:
                if addr in ipaddress.ip_network(cidr, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def _throttle(self, api: str, user: Record, headers: list[tuple[str, str]]) -> None:
        limit = self.faults.rate_limit if api == "application" else self.faults.client_rate_limit
        now = self.clock()
        bucket_key = (api, user["uuid"])
        with self.counter_lock:
            bucket = self.buckets.get(bucket_key)
            if bucket is None or now >= bucket[0] + 60:
                bucket = [now, 0]
                self.buckets[bucket_key] = bucket
            if bucket[1] >= limit:
                retry = max(1, math.ceil(bucket[0] + 60 - now))
                headers[:] = [("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", "0")]
                raise ApiError(
                    429,
                    "ThrottleRequestsException",
                    "Too Many Attempts.",
                    headers={
                        "Retry-After": str(retry),
                        "X-RateLimit-Reset": str(math.ceil(now) + retry),
                    },
                )
            bucket[1] += 1
            remaining = limit - int(bucket[1])
        headers[:] = [("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", str(remaining))]

    def _dispatch(self, req: Request, route: Route, rl_headers: list[tuple[str, str]]) -> Response:
        key, user = self._authenticate(req)  # 1
        if req.json_error is not None:  # 2
            raise ApiError(
                400,
                "BadRequestHttpException",
                "The JSON data passed in the request appears to be malformed: " + req.json_error,
            )
        if self.faults.two_factor_required and not user["use_totp"]:  # 3
            raise ApiError(
                400,
                "TwoFactorAuthRequiredException",
                "Two-factor authentication is required on this account in order to access this "
                "endpoint.",
            )
        if not self._ip_allowed(key, req.remote_addr):  # 4
            raise ApiError(
                403,
                "AccessDeniedHttpException",
                f"This IP address ({req.remote_addr}) does not have permission to access the API "
                "using these credentials.",
            )
        self._throttle(route.api, user, rl_headers)  # 5
        if route.api == "client" and key["type"] == "application":
            raise ApiError(
                403,
                "AccessDeniedHttpException",
                "You are attempting to use an application API key on an endpoint that requires a "
                "client API key.",
            )
        with self.state.lock:
            models = self._bind(req, route, user)  # 6
        if route.api == "application":
            if not user["root_admin"]:  # 7
                raise ApiError(
                    403,
                    "AccessDeniedHttpException",
                    "This account does not have permission to access the API.",
                )
            if route.resource and not self._can(
                key, route.resource, 1 if route.method == "GET" else 2
            ):
                raise ApiError(
                    403, "AccessDeniedHttpException", "This action is unauthorized."
                )  # 8

        def can_read(resource: str) -> bool:
            return self._can(key, resource, 1)

        ctx = Ctx(req, route, user, key, models, Transformer(self.state, can_read))
        if route.handler == self.create_server:
            return route.handler(ctx)  # manages the lock itself (race window)
        with self.state.lock:
            response = route.handler(ctx)
        if route.method != "GET":
            self.on_mutation()
        return response

    @staticmethod
    def _can(key: Record, resource: str, bit: int) -> bool:
        if key["type"] != "application":
            return True
        return bool(int(key["permissions"].get(f"r_{resource}", 0)) & bit)

    def _bind(self, req: Request, route: Route, user: Record) -> dict[str, Record]:
        st = self.state
        models: dict[str, Record] = {}
        p = req.params
        tables = {
            "user": st.users,
            "location": st.locations,
            "node": st.nodes,
            "nest": st.nests,
            "egg": st.eggs,
            "allocation": st.allocations,
        }
        for name, table in tables.items():
            if name in p:
                raw = p[name]
                obj = table.get(int(raw)) if raw.isdigit() else None
                if obj is None:
                    raise not_found()
                models[name] = obj
        if "egg" in models and models["egg"]["nest_id"] != models["nest"]["id"]:
            raise not_found()
        if "allocation" in models and models["allocation"]["node_id"] != models["node"]["id"]:
            raise not_found()
        if "server" in p:
            raw = p["server"]
            server: Record | None
            if route.api == "client":
                server = None
                for s in st.servers.values():
                    if (len(raw) == 8 and s["uuid"][:8] == raw) or s["uuid"] == raw:
                        server = s
                        break
                if server is None or not (user["root_admin"] or server["owner_id"] == user["id"]):
                    raise not_found()
            else:
                server = st.servers.get(int(raw)) if raw.isdigit() else None
                if server is None:
                    raise not_found()
            models["server"] = server
        return models

    # ================================================================== routing
    def _register_routes(self) -> None:
        A = "/api/application"
        table: list[tuple[str, str, Handler, str, str | None]] = [
            ("GET", f"{A}/users", self.list_users, "application", "users"),
            (
                "GET",
                f"{A}/users/external/{{external_id}}",
                self.get_user_external,
                "application",
                "users",
            ),
            ("GET", f"{A}/users/{{user}}", self.get_user, "application", "users"),
            ("POST", f"{A}/users", self.create_user, "application", "users"),
            ("PATCH", f"{A}/users/{{user}}", self.update_user, "application", "users"),
            ("DELETE", f"{A}/users/{{user}}", self.delete_user, "application", "users"),
            ("GET", f"{A}/locations", self.list_locations, "application", "locations"),
            ("GET", f"{A}/locations/{{location}}", self.get_location, "application", "locations"),
            ("POST", f"{A}/locations", self.create_location, "application", "locations"),
            (
                "PATCH",
                f"{A}/locations/{{location}}",
                self.update_location,
                "application",
                "locations",
            ),
            (
                "DELETE",
                f"{A}/locations/{{location}}",
                self.delete_location,
                "application",
                "locations",
            ),
            ("GET", f"{A}/nodes", self.list_nodes, "application", "nodes"),
            ("GET", f"{A}/nodes/deployable", self.deployable_nodes, "application", "nodes"),
            ("GET", f"{A}/nodes/{{node}}", self.get_node, "application", "nodes"),
            ("POST", f"{A}/nodes", self.create_node, "application", "nodes"),
            ("PATCH", f"{A}/nodes/{{node}}", self.update_node, "application", "nodes"),
            ("DELETE", f"{A}/nodes/{{node}}", self.delete_node, "application", "nodes"),
            (
                "GET",
                f"{A}/nodes/{{node}}/allocations",
                self.list_allocations,
                "application",
                "allocations",
            ),
            (
                "POST",
                f"{A}/nodes/{{node}}/allocations",
                self.create_allocations,
                "application",
                "allocations",
            ),
            (
                "DELETE",
                f"{A}/nodes/{{node}}/allocations/{{allocation}}",
                self.delete_allocation,
                "application",
                "allocations",
            ),
            ("GET", f"{A}/nests", self.list_nests, "application", "nests"),
            ("GET", f"{A}/nests/{{nest}}", self.get_nest, "application", "nests"),
            ("GET", f"{A}/nests/{{nest}}/eggs", self.list_eggs, "application", "eggs"),
            ("GET", f"{A}/nests/{{nest}}/eggs/{{egg}}", self.get_egg, "application", "eggs"),
            ("GET", f"{A}/servers", self.list_servers, "application", "servers"),
            (
                "GET",
                f"{A}/servers/external/{{external_id}}",
                self.get_server_external,
                "application",
                "servers",
            ),
            ("GET", f"{A}/servers/{{server}}", self.get_server, "application", "servers"),
            ("POST", f"{A}/servers", self.create_server, "application", "servers"),
            (
                "PATCH",
                f"{A}/servers/{{server}}/details",
                self.update_details,
                "application",
                "servers",
            ),
            ("PATCH", f"{A}/servers/{{server}}/build", self.update_build, "application", "servers"),
            (
                "PATCH",
                f"{A}/servers/{{server}}/startup",
                self.update_startup,
                "application",
                "servers",
            ),
            ("POST", f"{A}/servers/{{server}}/suspend", self.suspend, "application", "servers"),
            ("POST", f"{A}/servers/{{server}}/unsuspend", self.unsuspend, "application", "servers"),
            ("POST", f"{A}/servers/{{server}}/reinstall", self.reinstall, "application", "servers"),
            ("DELETE", f"{A}/servers/{{server}}", self.delete_server, "application", "servers"),
            (
                "DELETE",
                f"{A}/servers/{{server}}/{{force}}",
                self.delete_server,
                "application",
                "servers",
            ),
            (
                "GET",
                f"{A}/servers/{{server}}/databases",
                self.list_databases,
                "application",
                "server_databases",
            ),
            ("GET", "/api/client/servers/{server}", self.client_view, "client", None),
            (
                "GET",
                "/api/client/servers/{server}/resources",
                self.client_resources,
                "client",
                None,
            ),
            ("POST", "/api/client/servers/{server}/power", self.client_power, "client", None),
        ]
        for method, template, handler, api, resource in table:
            pattern = re.sub(
                r"\{(\w+)\}",
                r"(?P<\1>[^/]+)",
                re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
            )
            self.routes.append(
                Route(method, template, re.compile(f"^{pattern}/?$"), handler, api, resource)
            )

    # ================================================================== list helpers
    def _paginate(
        self, ctx: Ctx, items: list[Record], render: Callable[[Record], dict[str, Any]]
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

    @staticmethod
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

    def _query(
        self,
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
                values = self._filter_values(raw)
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

    @staticmethod
    def partial(column: str) -> Callable[[Record, list[Any]], bool]:
        def match(row: Record, values: list[Any]) -> bool:
            cell = row.get(column)
            if cell is None:
                return False
            text = str(cell).lower()
            return any(str(v).lower() in text for v in values if not isinstance(v, bool))

        return match

    def _includes(self, ctx: Ctx) -> dict[str, Any]:
        return parse_includes(ctx.q("include"))

    def _resource_url(self, ctx: Ctx, path: str) -> dict[str, Any]:
        return {"resource": f"{ctx.req.base_url}/api/application/{path}"}

    # ================================================================== users
    def list_users(self, ctx: Ctx) -> Response:
        inc = self._includes(ctx)
        rows = self._query(
            ctx,
            list(self.state.users.values()),
            {
                f: self.partial(c)
                for f, c in (
                    ("email", "email"),
                    ("uuid", "uuid"),
                    ("username", "username"),
                    ("external_id", "external_id"),
                )
            },
            {"id": lambda r: r["id"], "uuid": lambda r: r["uuid"]},
        )
        return json_response(200, self._paginate(ctx, rows, lambda u: ctx.tx.user(u, inc)))

    def get_user(self, ctx: Ctx) -> Response:
        return json_response(200, ctx.tx.user(ctx.models["user"], self._includes(ctx)))

    def get_user_external(self, ctx: Ctx) -> Response:
        ext = ctx.req.params["external_id"]
        for u in sorted(self.state.users.values(), key=lambda r: r["id"]):
            if u["external_id"] == ext:
                return json_response(200, ctx.tx.user(u, self._includes(ctx)))
        raise not_found()

    def _user_rules(self, v: Validator, ignore_id: int | None) -> None:
        others = [u for u in self.state.users.values() if u["id"] != ignore_id]

        def unique(column: str) -> rulelib.CustomRule:
            def passes(value: Any) -> bool:
                return not any(
                    u[column] is not None and str(u[column]).lower() == str(value).lower()
                    for u in others
                )

            return rulelib.CustomRule("unique", passes, rulelib.PANEL_MESSAGES["unique"])  # type: ignore[arg-type]

        username_rule = rulelib.CustomRule(
            "p_username",
            lambda value: isinstance(value, str) and bool(USERNAME_RE.match(value.lower())),
            USERNAME_MESSAGE,
        )
        v.check(
            "external_id",
            ["sometimes", "nullable", "string", "max:191", unique("external_id")],
            "Third Party Identifier",
        )
        v.check("email", ["required", "email", "between:1,191", unique("email")])
        v.check("username", ["required", "between:1,191", unique("username"), username_rule])
        v.check("password", "sometimes|nullable|string")
        v.check("language", "sometimes|string|in:en")
        v.check("root_admin", "sometimes|boolean", "Root Administrator Status")
        v.check("first_name", "required|string|between:1,191")
        v.check("last_name", "required|string|between:1,191")
        v.raise_if_failed()

    def create_user(self, ctx: Ctx) -> Response:
        data = ctx.req.input
        self._user_rules(Validator(data), None)
        now = self.clock()
        user = {
            "id": self.state.next_id("users"),
            "external_id": data.get("external_id"),
            "uuid": self.state.new_uuid(),
            "username": data["username"].lower(),
            "email": data["email"],
            "name_first": data["first_name"],
            "name_last": data["last_name"],
            "language": data.get("language") or "en",
            "root_admin": _bool(data.get("root_admin", False)),
            "use_totp": False,
            "created_at": now,
            "updated_at": now,
        }
        self.state.users[user["id"]] = user
        body = ctx.tx.user(user)
        body["meta"] = self._resource_url(ctx, f"users/{user['id']}")
        return json_response(201, body)

    def update_user(self, ctx: Ctx) -> Response:
        user = ctx.models["user"]
        data = ctx.req.input
        self._user_rules(Validator(data), user["id"])
        user.update(
            {
                "email": data["email"],
                "username": data["username"].lower(),
                "name_first": data["first_name"],
                "name_last": data["last_name"],
                "updated_at": self.clock(),
            }
        )
        if "external_id" in data:
            user["external_id"] = data["external_id"]
        if data.get("language"):
            user["language"] = data["language"]
        if "root_admin" in data and data["root_admin"] is not None:
            user["root_admin"] = _bool(data["root_admin"])
        return json_response(200, ctx.tx.user(user))

    def delete_user(self, ctx: Ctx) -> Response:
        user = ctx.models["user"]
        if any(s["owner_id"] == user["id"] for s in self.state.servers.values()):
            raise display(
                "Cannot delete a user with active servers attached to their account. Please "
                "delete their servers before continuing."
            )
        del self.state.users[user["id"]]
        for ident in [k for k, key in self.state.api_keys.items() if key["user_id"] == user["id"]]:
            del self.state.api_keys[ident]
        return json_response(204, None)

    # ================================================================== locations
    def list_locations(self, ctx: Ctx) -> Response:
        inc = self._includes(ctx)
        rows = self._query(
            ctx,
            list(self.state.locations.values()),
            {"short": self.partial("short"), "long": self.partial("long")},
            {"id": lambda r: r["id"]},
        )
        return json_response(200, self._paginate(ctx, rows, lambda r: ctx.tx.location(r, inc)))

    def get_location(self, ctx: Ctx) -> Response:
        return json_response(200, ctx.tx.location(ctx.models["location"], self._includes(ctx)))

    def _location_rules(self, data: dict[str, Any], ignore: int | None) -> None:
        v = Validator(data)
        taken = rulelib.CustomRule(
            "unique",
            lambda value: (
                not any(
                    loc["short"].lower() == str(value).lower()
                    for loc in self.state.locations.values()
                    if loc["id"] != ignore
                )
            ),
            "The :attribute has already been taken.",
        )
        v.check("short", ["required", "string", "between:1,60", taken])
        v.check("long", "nullable|string|between:1,191")
        v.raise_if_failed()

    def create_location(self, ctx: Ctx) -> Response:
        data = ctx.req.input
        self._location_rules(data, None)
        now = self.clock()
        loc = {
            "id": self.state.next_id("locations"),
            "short": data["short"],
            "long": data.get("long"),
            "created_at": now,
            "updated_at": now,
        }
        self.state.locations[loc["id"]] = loc
        body = ctx.tx.location(loc)
        body["meta"] = self._resource_url(ctx, f"locations/{loc['id']}")
        return json_response(201, body)

    def update_location(self, ctx: Ctx) -> Response:
        loc = ctx.models["location"]
        data = ctx.req.input
        self._location_rules({"short": loc["short"], **data}, loc["id"])
        for key in ("short", "long"):
            if key in data:
                loc[key] = data[key]
        loc["updated_at"] = self.clock()
        return json_response(200, ctx.tx.location(loc))

    def delete_location(self, ctx: Ctx) -> Response:
        loc = ctx.models["location"]
        if any(n["location_id"] == loc["id"] for n in self.state.nodes.values()):
            raise display(
                "Cannot delete a location that has active nodes attached to it.",
                "HasActiveNodesException",
            )
        del self.state.locations[loc["id"]]
        return json_response(204, None)

    # ================================================================== nodes
    def list_nodes(self, ctx: Ctx) -> Response:
        inc = self._includes(ctx)
        rows = self._query(
            ctx,
            list(self.state.nodes.values()),
            {
                "uuid": self.partial("uuid"),
                "name": self.partial("name"),
                "fqdn": self.partial("fqdn"),
                "daemon_token_id": self.partial("daemon_token_id"),
            },
            {
                "id": lambda r: r["id"],
                "uuid": lambda r: r["uuid"],
                "memory": lambda r: r["memory"],
                "disk": lambda r: r["disk"],
            },
        )
        return json_response(200, self._paginate(ctx, rows, lambda r: ctx.tx.node(r, inc)))

    def get_node(self, ctx: Ctx) -> Response:
        return json_response(200, ctx.tx.node(ctx.models["node"], self._includes(ctx)))

    def viable_nodes(self, memory: int, disk: int, locations: list[int]) -> list[Record]:
        out = []
        for node in sorted(self.state.nodes.values(), key=lambda n: n["id"]):
            if not node["public"]:
                continue
            if locations and node["location_id"] not in locations:
                continue
            used_mem, used_disk = self.state.node_usage(node["id"])
            mem_cap = node["memory"] * (1 + node["memory_overallocate"] / 100)
            disk_cap = node["disk"] * (1 + node["disk_overallocate"] / 100)
            if used_mem + memory <= mem_cap and used_disk + disk <= disk_cap:
                out.append(node)
        return out

    def deployable_nodes(self, ctx: Ctx) -> Response:
        v = Validator(ctx.req.query)
        v.check("memory", "required|integer|min:0")
        v.check("disk", "required|integer|min:0")
        v.check("location_ids", "sometimes|array")
        v.each("location_ids", "integer")
        v.raise_if_failed()
        locs_raw = ctx.q("location_ids") or []
        locations = [
            int(x) for x in (locs_raw.values() if isinstance(locs_raw, dict) else locs_raw)
        ]
        nodes = self.viable_nodes(int(ctx.q("memory")), int(ctx.q("disk")), locations)
        if not nodes:
            raise display(
                "No nodes satisfying the requirements specified for automatic deployment could be "
                "found.",
                "NoViableNodeException",
            )
        inc = self._includes(ctx)

        def render(n: Record) -> dict[str, Any]:
            mem, disk = self.state.node_usage(n["id"])
            return ctx.tx.node(n, inc, {"sum_memory": mem, "sum_disk": disk})

        if ctx.q("page") is not None:
            return json_response(200, self._paginate(ctx, nodes, render))
        return json_response(200, {"object": "list", "data": [render(n) for n in nodes]})

    def _node_rules(self, data: dict[str, Any]) -> None:
        v = Validator(data)
        v.check("name", r"required|regex:/^([\w .-]{1,100})$/")
        v.check("description", "nullable|string")
        v.check(
            "location_id",
            [
                "required",
                rulelib.CustomRule(
                    "exists",
                    lambda x: str(x).isdigit() and int(x) in self.state.locations,
                    "The selected :attribute is invalid.",
                ),
            ],
        )
        v.check("public", "boolean")
        v.check("fqdn", "required|string")
        v.check("scheme", "required|in:http,https")
        v.check("behind_proxy", "boolean")
        v.check("memory", "required|numeric|min:1")
        v.check("memory_overallocate", "required|numeric|min:-1")
        v.check("disk", "required|numeric|min:1")
        v.check("disk_overallocate", "required|numeric|min:-1")
        v.check("upload_size", "sometimes|integer|between:1,1024")
        v.check("daemon_listen", "required|numeric|between:1,65535")
        v.check("daemon_sftp", "required|numeric|between:1,65535")
        v.check("daemon_base", r"sometimes|required|regex:/^([\/][\d\w.\-\/]+)$/")
        v.check("maintenance_mode", "boolean")
        v.raise_if_failed()

    _NODE_DEFAULTS: dict[str, Any] = {
        "public": True,
        "behind_proxy": False,
        "maintenance_mode": False,
        "memory_overallocate": 0,
        "disk_overallocate": 0,
        "upload_size": 100,
        "daemon_listen": 8080,
        "daemon_sftp": 2022,
        "daemon_base": "/var/lib/pterodactyl/volumes",
        "scheme": "https",
        "description": None,
    }

    def _apply_node(self, node: Record, data: dict[str, Any]) -> None:
        for key in ("name", "description", "fqdn", "scheme", "daemon_base"):
            if key in data:
                node[key] = data[key]
        for key in (
            "location_id",
            "memory",
            "memory_overallocate",
            "disk",
            "disk_overallocate",
            "upload_size",
            "daemon_listen",
            "daemon_sftp",
        ):
            if key in data and data[key] is not None:
                node[key] = _int(data[key])
        for key in ("public", "behind_proxy", "maintenance_mode"):
            if key in data and data[key] is not None:
                node[key] = _bool(data[key])

    def create_node(self, ctx: Ctx) -> Response:
        data = {
            **{
                k: v
                for k, v in self._NODE_DEFAULTS.items()
                if k not in ("memory_overallocate", "disk_overallocate")
            },
            **ctx.req.input,
        }
        self._node_rules(data)
        now = self.clock()
        node: Record = {
            "id": self.state.next_id("nodes"),
            "uuid": self.state.new_uuid(),
            **self._NODE_DEFAULTS,
            "created_at": now,
            "updated_at": now,
        }
        self._apply_node(node, data)
        self.state.nodes[node["id"]] = node
        body = ctx.tx.node(node)
        body["meta"] = self._resource_url(ctx, f"nodes/{node['id']}")
        return json_response(201, body)

    def update_node(self, ctx: Ctx) -> Response:
        node = ctx.models["node"]
        current = {
            k: node[k]
            for k in (
                "name",
                "location_id",
                "fqdn",
                "scheme",
                "memory",
                "memory_overallocate",
                "disk",
                "disk_overallocate",
                "daemon_listen",
                "daemon_sftp",
            )
        }
        data = {**current, **ctx.req.input}
        self._node_rules(data)
        self._apply_node(node, ctx.req.input)
        node["updated_at"] = self.clock()
        return json_response(200, ctx.tx.node(node))

    def delete_node(self, ctx: Ctx) -> Response:
        node = ctx.models["node"]
        if any(s["node_id"] == node["id"] for s in self.state.servers.values()):
            raise display(
                "Cannot delete a node that has active servers attached to it.",
                "HasActiveServersException",
            )
        del self.state.nodes[node["id"]]
        for aid in [a["id"] for a in self.state.allocations.values() if a["node_id"] == node["id"]]:
            del self.state.allocations[aid]
        return json_response(204, None)

    # ================================================================== allocations
    def list_allocations(self, ctx: Ctx) -> Response:
        node = ctx.models["node"]
        inc = self._includes(ctx)
        rows = sorted(
            (a for a in self.state.allocations.values() if a["node_id"] == node["id"]),
            key=lambda a: a["id"],
        )

        def exact(column: str) -> Callable[[Record, list[Any]], bool]:
            return lambda row, values: str(row[column]) in [str(v) for v in values]

        def server_id(row: Record, values: list[Any]) -> bool:
            value = values[0] if len(values) == 1 else values
            if isinstance(value, str) and value.isdigit() and value != "0" and value.isascii():
                return row["server_id"] == int(value)
            return row["server_id"] is None

        rows = self._query(
            ctx,
            rows,
            {
                "ip": exact("ip"),
                "port": exact("port"),
                "ip_alias": self.partial("ip_alias"),
                "server_id": server_id,
            },
            {},
        )
        return json_response(200, self._paginate(ctx, rows, lambda a: ctx.tx.allocation(a, inc)))

    def create_allocations(self, ctx: Ctx) -> Response:
        node = ctx.models["node"]
        data = ctx.req.input
        v = Validator(data)
        v.check("ip", "required|string")
        v.check("alias", "sometimes|nullable|string|max:191")
        v.check("ports", "required|array")
        v.each("ports", "string")
        v.raise_if_failed()
        ip = data["ip"]
        try:
            net = ipaddress.ip_network(ip, strict=False)
        except ValueError:
            try:
                ips = [socket.gethostbyname(ip)]
            except OSError:
                raise display(
                    f"The mapping provided for {ip} was invalid and could not be processed.",
                    "DisplayException",
                ) from None
        else:
            if "/" in ip and not (25 <= net.prefixlen <= 32):
                raise display(
                    "CIDR notation only allows masks between /25 and /32.",
                    "CidrOutOfRangeException",
                )
            ips = [str(a) for a in net] if net.num_addresses > 1 else [str(net.network_address)]
        ports: list[int] = []
        for spec in data["ports"].values() if isinstance(data["ports"], dict) else data["ports"]:
            text = str(spec)
            m = re.fullmatch(r"(\d{4,5})-(\d{4,5})", text)
            if not text.isdigit() and not m:
                raise display(
                    f"The mapping provided for {text} was invalid and could not be processed.",
                    "InvalidPortMappingException",
                )
            low, high = (int(m.group(1)), int(m.group(2))) if m else (int(text), int(text))
            if m and len(range(low, high + 1)) > 1000:
                raise display(
                    "Adding more than 1000 ports in a single range at once is not supported.",
                    "TooManyPortsInRangeException",
                )
            for port in range(low, high + 1) if m else (low,):
                if port <= 1024 or port > 65535:
                    raise display(
                        "Ports in an allocation must be greater than 1024 and less than or equal "
                        "to 65535.",
                        "PortOutOfRangeException",
                    )
            ports.extend(range(low, high + 1))
        existing = {
            (a["ip"], a["port"])
            for a in self.state.allocations.values()
            if a["node_id"] == node["id"]
        }
        for addr in ips:
            for port in ports:
                if (addr, port) in existing:
                    continue
                existing.add((addr, port))
                alloc = {
                    "id": self.state.next_id("allocations"),
                    "node_id": node["id"],
                    "ip": addr,
                    "ip_alias": data.get("alias"),
                    "port": port,
                    "notes": None,
                    "server_id": None,
                }
                self.state.allocations[alloc["id"]] = alloc
        return json_response(204, None)

    def delete_allocation(self, ctx: Ctx) -> Response:
        alloc = ctx.models["allocation"]
        if alloc["server_id"] is not None:
            raise display(
                "Cannot delete an allocation that is currently assigned to a server.",
                "ServerUsingAllocationException",
            )
        del self.state.allocations[alloc["id"]]
        return json_response(204, None)

    # ================================================================== nests / eggs
    def list_nests(self, ctx: Ctx) -> Response:
        inc = self._includes(ctx)
        rows = sorted(self.state.nests.values(), key=lambda n: n["id"])
        return json_response(200, self._paginate(ctx, rows, lambda n: ctx.tx.nest(n, inc)))

    def get_nest(self, ctx: Ctx) -> Response:
        return json_response(200, ctx.tx.nest(ctx.models["nest"], self._includes(ctx)))

    def list_eggs(self, ctx: Ctx) -> Response:
        nest = ctx.models["nest"]
        inc = self._includes(ctx)
        eggs = [
            e
            for e in sorted(self.state.eggs.values(), key=lambda e: e["id"])
            if e["nest_id"] == nest["id"]
        ]
        return json_response(200, {"object": "list", "data": [ctx.tx.egg(e, inc) for e in eggs]})

    def get_egg(self, ctx: Ctx) -> Response:
        return json_response(200, ctx.tx.egg(ctx.models["egg"], self._includes(ctx)))

    # ================================================================== servers: read
    def list_servers(self, ctx: Ctx) -> Response:
        inc = self._includes(ctx)
        rows = list(self.state.servers.values())

        def short(row: Record, values: list[Any]) -> bool:
            return self.partial("uuid")({"uuid": row["uuid"][:8]}, values)

        filters = {
            f: self.partial(f) for f in ("uuid", "name", "description", "image", "external_id")
        }
        filters["uuidShort"] = short
        order = ("uuid", "uuidShort", "name", "description", "image", "external_id")
        rows = self._query(
            ctx,
            rows,
            {f: filters[f] for f in order},
            {"id": lambda r: r["id"], "uuid": lambda r: r["uuid"]},
        )
        return json_response(200, self._paginate(ctx, rows, lambda s: ctx.tx.server(s, inc)))

    def get_server(self, ctx: Ctx) -> Response:
        return json_response(200, ctx.tx.server(ctx.models["server"], self._includes(ctx)))

    def get_server_external(self, ctx: Ctx) -> Response:
        server = self.state.server_by_external_id(ctx.req.params["external_id"])
        if server is None:
            raise not_found()
        return json_response(200, ctx.tx.server(server, self._includes(ctx)))

    def list_databases(self, ctx: Ctx) -> Response:
        return json_response(200, {"object": "list", "data": []})

    # ================================================================== servers: create
    def _exists(self, table: dict[int, Record], attr_rule: str = "exists") -> rulelib.CustomRule:
        return rulelib.CustomRule(
            attr_rule,
            lambda value: (
                rulelib.is_numeric(value)
                and float(value).is_integer()
                and int(float(value)) in table
            ),
            "The selected :attribute is invalid.",
        )

    def _free_allocation(self) -> rulelib.CustomRule:
        def passes(value: Any) -> bool:
            if not rulelib.is_numeric(value) or not float(value).is_integer():
                return False
            alloc = self.state.allocations.get(int(float(value)))
            return alloc is not None and alloc["server_id"] is None

        return rulelib.CustomRule("exists", passes, "The selected :attribute is invalid.")

    def _limit_rules(self, v: Validator, prefix: str) -> None:
        v.check(f"{prefix}memory", "required|numeric|min:0")
        v.check(f"{prefix}swap", "required|numeric|min:-1")
        v.check(f"{prefix}disk", "required|numeric|min:0")
        v.check(f"{prefix}io", "required|numeric|between:10,1000")
        v.check(f"{prefix}threads", "nullable|regex:/^[0-9-,]+$/")
        v.check(f"{prefix}cpu", "required|numeric|min:0")

    def _validate_create(self, data: dict[str, Any]) -> None:
        st = self.state
        v = Validator(data)
        ext_unique = rulelib.CustomRule(
            "unique",
            lambda value: st.server_by_external_id(value) is None,
            "The :attribute has already been taken.",
        )
        v.check("external_id", ["sometimes", "nullable", "string", "between:1,191", ext_unique])
        v.check("name", "required|string|min:1|max:191")
        v.check("description", "nullable|string")
        v.check("user", ["required", "integer", self._exists(st.users)])
        v.check("egg", ["required", self._exists(st.eggs)])
        v.check("docker_image", ["required", "string", "max:191", IMAGE_RULE])
        v.check("startup", "required|string")
        v.check("environment", "present|array")
        v.check("skip_scripts", "sometimes|boolean")
        v.check("oom_disabled", "sometimes|boolean")
        v.check("limits", "required|array")
        v.check("limits.memory", "required|numeric|min:0")
        v.check("limits.swap", "required|numeric|min:-1")
        v.check("limits.disk", "required|numeric|min:0")
        v.check("limits.io", "required|numeric|between:10,1000")
        v.check("limits.threads", "nullable|regex:/^[0-9-,]+$/")
        v.check("limits.cpu", "required|numeric|min:0")
        v.check("feature_limits", "required|array")
        v.check("feature_limits.databases", "present|nullable|integer|min:0")
        v.check("feature_limits.allocations", "sometimes|nullable|integer|min:0")
        v.check("feature_limits.backups", "present|nullable|integer|min:0")
        deploy = data.get("deploy")
        if not deploy:
            v.check("allocation.default", ["required", "integer", "bail", self._free_allocation()])
            v.each("allocation.additional", ["integer", self._free_allocation()])
        v.check("deploy", "sometimes|required|array")
        ctx = {"deploy": deploy} if "deploy" in data else {}
        if deploy:
            v.check("deploy.locations", "present|array")
        else:
            v.check("deploy.locations", "array")
        v.each("deploy.locations", "integer|min:1")
        v.check("deploy.dedicated_ip", "required_with:deploy,boolean", context=ctx)
        if deploy:
            v.check("deploy.port_range", "present|array")
        else:
            v.check("deploy.port_range", "array")
        v.each("deploy.port_range", "string")
        v.check("start_on_completion", "sometimes|boolean")
        v.raise_if_failed()

    def _pick_allocation(self, data: dict[str, Any]) -> Record:
        deploy = data["deploy"]
        locations = [int(x) for x in deploy.get("locations") or []]
        nodes = self.viable_nodes(
            _int(data["limits"]["memory"]), _int(data["limits"]["disk"]), locations
        )
        if not nodes:
            raise display(
                "No nodes satisfying the requirements specified for automatic deployment could be "
                "found.",
                "NoViableNodeException",
            )
        ports: set[int] = set()
        ranges: list[tuple[int, int]] = []
        for entry in deploy.get("port_range") or []:
            text = str(entry)
            if text.isdigit():
                ports.add(int(text))
                continue
            m = re.fullmatch(r"(\d{4,5})-(\d{4,5})", text)
            if m:
                low, high = int(m.group(1)), int(m.group(2))
                if abs(high - low) > 1000:
                    raise display(
                        "Adding more than 1000 ports in a single range at once is not supported."
                    )
                ranges.append((low, high))
        node_ids = {n["id"] for n in nodes}
        candidates = [
            a
            for a in self.state.allocations.values()
            if a["node_id"] in node_ids and a["server_id"] is None
        ]
        if ports or ranges:
            candidates = [
                a
                for a in candidates
                if a["port"] in ports or any(lo <= a["port"] <= hi for lo, hi in ranges)
            ]
        if _bool(deploy.get("dedicated_ip")):
            used = {
                (a["node_id"], a["ip"])
                for a in self.state.allocations.values()
                if a["server_id"] is not None
            }
            candidates = [a for a in candidates if (a["node_id"], a["ip"]) not in used]
        if not candidates:
            raise display(
                "No allocations satisfying the requirements for automatic deployment were found.",
                "NoViableAllocationException",
            )
        candidates.sort(key=lambda a: a["id"])
        self._random()  # keep the generator in sync with a changed seed
        return self.rng.choice(candidates)

    def _validate_env(self, egg_id: int, env: Any) -> dict[str, Any]:
        env = env if isinstance(env, dict) else {}
        errors: list[tuple[str, str, str]] = []
        values: dict[str, Any] = {}
        for var in self.state.egg_variables(egg_id):
            key = var["env_variable"]
            value = env.get(key)
            for rule, message in rulelib.validate(value, var["rules"], f"{var['name']} variable"):
                errors.append((f"environment.{key}", rule, message))
            values[key] = (
                ""
                if value is None
                else (("1" if value else "0") if isinstance(value, bool) else str(value))
            )
        if errors:
            raise ValidationFailed(errors)
        return values

    def _data_validation_error(self, field: str, message: str) -> ApiError:
        payload = json.dumps({field: [message]}).replace("/", "\\/")
        return ApiError(
            500,
            "DataValidationException",
            f"Could not save Pterodactyl\\Models\\Server[]: failed to validate data: {payload}",
        )

    def create_server(self, ctx: Ctx) -> Response:
        st = self.state
        data = ctx.req.input
        with st.lock:  # step 2 + 3 + 4 (the real panel has no lock; we need consistent reads)
            self._validate_create(data)
            if data.get("deploy"):
                allocation = self._pick_allocation(data)
            else:
                allocation = st.allocations[_int(data["allocation"]["default"])]
            egg = st.eggs[_int(data["egg"])]
            env = self._validate_env(egg["id"], data.get("environment"))
            if self.faults.allocation_race > 0 and not data.get("deploy"):
                self.faults.allocation_race -= 1
                self._insert_phantom(allocation, egg)
        if self.faults.race_window:
            time.sleep(self.faults.race_window)
        with st.lock:  # step 5: insert with model re-validation
            if allocation["server_id"] is not None or any(
                s["allocation_id"] == allocation["id"] for s in st.servers.values()
            ):
                raise self._data_validation_error(
                    "allocation_id", "The allocation id has already been taken."
                )
            ext = data.get("external_id")
            if ext is not None and st.server_by_external_id(ext) is not None:
                raise self._data_validation_error(
                    "external_id", "The external id has already been taken."
                )
            server = self._insert_server(data, allocation, egg, env)
            if self.faults.wings_down:  # step 6 fails: force-delete, return the daemon error
                self._remove_server(server)
                raise ApiError(504, "DaemonConnectionException", WINGS_DOWN)
            body = ctx.tx.server(server)
        self.on_mutation()
        return json_response(201, body)

    def _insert_server(
        self, data: dict[str, Any], allocation: Record, egg: Record, env: dict[str, Any]
    ) -> Record:
        st = self.state
        now = self.clock()
        while True:
            uid = st.new_uuid()
            if all(s["uuid"][:8] != uid[:8] for s in st.servers.values()):
                break
        limits = data["limits"]
        fl = data["feature_limits"]
        server: Record = {
            "id": st.next_id("servers"),
            "external_id": data.get("external_id"),
            "uuid": uid,
            "name": data["name"],
            "description": data.get("description") or "",
            "status": "installing",
            "owner_id": _int(data["user"]),
            "node_id": allocation["node_id"],
            "allocation_id": allocation["id"],
            "nest_id": egg["nest_id"],
            "egg_id": egg["id"],
            "memory": _num(limits["memory"]),
            "swap": _num(limits["swap"]),
            "disk": _num(limits["disk"]),
            "io": _num(limits["io"]),
            "cpu": _num(limits["cpu"]),
            "threads": limits.get("threads"),
            "oom_disabled": _bool(data.get("oom_disabled", True)),
            "database_limit": _int(fl["databases"]) if fl.get("databases") is not None else 0,
            "allocation_limit": _int(fl["allocations"]) if fl.get("allocations") is not None else 0,
            "backup_limit": _int(fl["backups"]) if fl.get("backups") is not None else 0,
            "startup": data["startup"],
            "image": data["docker_image"],
            "skip_scripts": _bool(data.get("skip_scripts", False)),
            "start_on_completion": _bool(data.get("start_on_completion", False)),
            "env": env,
            "install_pending": "install",
            "install_started_at": now,
            "power": "offline",
            "power_pending": None,
            "started_at": None,
            "created_at": now,
            "updated_at": now,
        }
        st.servers[server["id"]] = server
        allocation["server_id"] = server["id"]
        if not data.get("deploy"):
            for aid in (data.get("allocation") or {}).get("additional") or []:
                extra = st.allocations.get(_int(aid))
                if extra is not None:
                    extra["server_id"] = server["id"]
        return server

    def _insert_phantom(self, allocation: Record, egg: Record) -> None:
        self._insert_server(
            {
                "name": "phantom race winner",
                "user": 1 if 1 in self.state.users else next(iter(self.state.users)),
                "limits": {"memory": 0, "swap": 0, "disk": 0, "io": 500, "cpu": 0},
                "feature_limits": {"databases": 0, "backups": 0},
                "startup": egg["startup"],
                "docker_image": next(iter((egg["docker_images"] or {"": ""}).values())),
            },
            allocation,
            egg,
            {v["env_variable"]: v["default_value"] for v in egg["variables"]},
        )

    def _remove_server(self, server: Record) -> None:
        for alloc in self.state.server_allocations(server["id"]):
            alloc["server_id"] = None
        self.state.servers.pop(server["id"], None)

    # ================================================================== servers: update
    def update_details(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        data = ctx.req.input
        st = self.state
        v = Validator(data)
        ext_unique = rulelib.CustomRule(
            "unique",
            lambda value: (
                not any(
                    s["external_id"] == value and s["id"] != server["id"]
                    for s in st.servers.values()
                )
            ),
            "The :attribute has already been taken.",
        )
        v.check("external_id", ["sometimes", "nullable", "string", "between:1,191", ext_unique])
        v.check("name", "required|string|min:1|max:191")
        v.check("user", ["required", "integer", self._exists(st.users)])
        v.check("description", "sometimes|nullable|string")
        v.raise_if_failed()
        server.update(
            {
                "external_id": data.get("external_id"),
                "name": data["name"],
                "owner_id": _int(data["user"]),
                "description": data.get("description") or "",
                "updated_at": self.clock(),
            }
        )
        return json_response(200, ctx.tx.server(server))

    def update_build(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        data = ctx.req.input
        st = self.state
        v = Validator(data)
        not_other_primary = rulelib.CustomRule(
            "unique",
            lambda value: (
                not any(
                    s["allocation_id"] == _int(value) and s["id"] != server["id"]
                    for s in st.servers.values()
                )
            ),
            "The :attribute has already been taken.",
        )
        v.check("allocation", ["required", "bail", not_other_primary, self._exists(st.allocations)])
        v.check("oom_disabled", "sometimes|boolean")
        v.check("limits", "sometimes|array")
        has_limits = "limits" in data
        ctx_l = {"limits": data.get("limits")} if has_limits else {}
        for key, rule in (
            ("memory", "numeric|min:0"),
            ("swap", "numeric|min:-1"),
            ("io", "numeric|between:10,1000"),
            ("cpu", "numeric|min:0"),
            ("disk", "numeric|min:0"),
        ):
            v.check(f"limits.{key}", f"required_with:limits|{rule}", context=ctx_l)
            v.check(key, f"required_without:limits|{rule}", context=ctx_l)
        v.check("limits.threads", "nullable|regex:/^[0-9-,]+$/")
        v.check("threads", "nullable|regex:/^[0-9-,]+$/")
        v.check("add_allocations", "bail|array", "allocations to add")
        v.each("add_allocations", "integer")
        v.check("remove_allocations", "bail|array", "allocations to remove")
        v.each("remove_allocations", "integer")
        v.check("feature_limits", "required|array")
        v.check("feature_limits.databases", "present|nullable|integer|min:0", "Database Limit")
        v.check(
            "feature_limits.allocations", "sometimes|nullable|integer|min:0", "Allocation Limit"
        )
        v.check("feature_limits.backups", "present|nullable|integer|min:0", "Backup Limit")
        v.raise_if_failed()

        alloc_id = _int(data["allocation"])
        add = [_int(x) for x in (data.get("add_allocations") or [])]
        remove = [_int(x) for x in (data.get("remove_allocations") or [])]
        current = {a["id"] for a in st.server_allocations(server["id"])}
        attachable = [
            a
            for a in add
            if a in st.allocations
            and st.allocations[a]["node_id"] == server["node_id"]
            and st.allocations[a]["server_id"] is None
        ]
        if server["allocation_id"] in remove and not attachable:
            raise display(
                "You are attempting to delete the default allocation for this server "
                "but there is no fallback allocation to use."
            )
        final = (current | set(attachable)) - set(remove)
        new_default = alloc_id
        if server["allocation_id"] in remove and alloc_id == server["allocation_id"]:
            new_default = attachable[0]
        if new_default not in final:
            raise display(
                "The requested default allocation is not currently assigned to this server."
            )
        for aid in attachable:
            st.allocations[aid]["server_id"] = server["id"]
        for aid in remove:
            if aid in current and aid in st.allocations:
                st.allocations[aid]["server_id"] = None
        limits = data.get("limits") if has_limits else data
        assert isinstance(limits, dict)
        fl = data["feature_limits"]
        server.update(
            {
                "allocation_id": new_default,
                "memory": _num(limits["memory"]),
                "swap": _num(limits["swap"]),
                "io": _num(limits["io"]),
                "cpu": _num(limits["cpu"]),
                "disk": _num(limits["disk"]),
                "threads": limits.get("threads"),
                "database_limit": None if fl.get("databases") is None else _int(fl["databases"]),
                "allocation_limit": None
                if fl.get("allocations") is None
                else _int(fl["allocations"]),
                "backup_limit": None if fl.get("backups") is None else _int(fl["backups"]),
                "updated_at": self.clock(),
            }
        )
        if "oom_disabled" in data and data["oom_disabled"] is not None:
            server["oom_disabled"] = _bool(data["oom_disabled"])
        return json_response(200, ctx.tx.server(server))

    def update_startup(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        data = ctx.req.input
        st = self.state
        v = Validator(data)
        v.check("startup", "required|string")
        v.check("environment", "present|array")
        v.check("egg", ["required", self._exists(st.eggs)])
        v.check("image", ["required", "string", "max:191", IMAGE_RULE])
        v.check("skip_scripts", "present|boolean")
        v.raise_if_failed()
        egg = st.eggs[_int(data["egg"])]
        env = data["environment"]
        if env:
            values = self._validate_env(egg["id"], env)
            server["env"] = values
        elif egg["id"] != server["egg_id"]:
            server["env"] = {}
        server.update(
            {
                "startup": data["startup"],
                "image": data["image"],
                "egg_id": egg["id"],
                "nest_id": egg["nest_id"],
                "skip_scripts": _bool(data["skip_scripts"]),
                "updated_at": self.clock(),
            }
        )
        return json_response(200, ctx.tx.server(server))

    # ================================================================== power-ish
    def suspend(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        if server["status"] == "suspended":
            return json_response(204, None)
        if self.faults.wings_down:
            raise ApiError(504, "DaemonConnectionException", WINGS_DOWN)
        server["status"] = "suspended"
        server["power"] = "offline"
        return json_response(204, None)

    def unsuspend(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        if server["status"] != "suspended":
            return json_response(204, None)
        if self.faults.wings_down:
            raise ApiError(504, "DaemonConnectionException", WINGS_DOWN)
        server["status"] = None
        return json_response(204, None)

    def reinstall(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        if self.faults.wings_down:
            raise ApiError(504, "DaemonConnectionException", WINGS_DOWN)
        server["status"] = "installing"
        server["install_pending"] = "reinstall"
        server["install_started_at"] = self.clock()
        server["power"] = "offline"
        return json_response(204, None)

    def delete_server(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        force = ctx.req.params.get("force") == "force"
        if self.faults.wings_down and not force:
            raise ApiError(504, "DaemonConnectionException", WINGS_DOWN)
        self._remove_server(server)
        return json_response(204, None)

    # ================================================================== client API
    def _state_conflict(self, server: Record) -> None:
        node = self.state.nodes[server["node_id"]]
        message = None
        if server["status"] == "suspended":
            message = (
                "This server is currently suspended and the functionality requested is unavailable."
            )
        elif node["maintenance_mode"]:
            message = (
                "The node of this server is currently under maintenance and the "
                "functionality requested is unavailable."
            )
        elif server["status"] in ("installing", "install_failed"):
            message = (
                "This server has not yet completed its installation process, please try "
                "again later."
            )
        elif server["status"] == "restoring_backup":
            message = "This server is currently restoring from a backup, please try again later."
        if message:
            raise ApiError(409, "ServerStateConflictException", message)

    def client_view(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        owner = server["owner_id"] == ctx.user["id"]
        perms = (
            ["*"]
            if owner
            else [
                "*",
                "admin.websocket.errors",
                "admin.websocket.install",
                "admin.websocket.transfer",
            ]
        )
        return json_response(
            200,
            {
                "object": "server",
                "attributes": ctx.tx.client_server(server, ctx.user),
                "meta": {"is_server_owner": owner, "user_permissions": perms},
            },
        )

    def client_resources(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        self._state_conflict(server)
        shown = server["power"]
        if server.get("power_pending"):
            shown = server["power_pending"][0]
            server["power"] = server["power_pending"][1]
            server["power_pending"] = None
        running = shown in ("running", "starting", "stopping")
        now = self.clock()
        uptime = int((now - server["started_at"]) * 1000) if running and server["started_at"] else 0
        mem_limit = max(1, int(server["memory"] or 1024)) * 1024 * 1024
        return json_response(
            200,
            {
                "object": "stats",
                "attributes": {
                    "current_state": shown,
                    "is_suspended": server["status"] == "suspended",
                    "resources": {
                        "memory_bytes": mem_limit // 3 if running else 0,
                        "cpu_absolute": 12.5 if running else 0,
                        "disk_bytes": 157286400,
                        "network_rx_bytes": 24576 if running else 0,
                        "network_tx_bytes": 12288 if running else 0,
                        "uptime": uptime,
                    },
                },
            },
        )

    def client_power(self, ctx: Ctx) -> Response:
        server = ctx.models["server"]
        self._state_conflict(server)
        v = Validator(ctx.req.input)
        v.check("signal", "required|string|in:start,stop,restart,kill")
        v.raise_if_failed()
        signal = ctx.req.input["signal"]
        now = self.clock()
        current = server["power"]
        if signal in ("start", "restart"):
            if signal == "restart" or current != "running":
                server["started_at"] = now
            server["power"] = "starting"
            server["power_pending"] = ("starting", "running")
        elif signal == "stop":
            server["power_pending"] = ("stopping", "offline") if current != "offline" else None
            server["started_at"] = server["started_at"] if current != "offline" else None
        else:  # kill
            server["power"] = "offline"
            server["power_pending"] = None
            server["started_at"] = None
        return json_response(204, None)
