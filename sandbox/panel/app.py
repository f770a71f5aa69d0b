"""The WSGI application: the panel's request pipeline in its middleware order, the sandbox's
admin endpoint and request counters. The endpoints live beside the upstream controller they
imitate (``application/*.py``, ``client_api.py``); ``routes.py`` is the route table and
``middleware.py`` the per-request checks.

Pipeline order follows pterodactyl/panel v1.11.8 app/Http/Kernel.php (the ``api`` and
``client-api`` middleware groups) and the route groups of app/Providers/RouteServiceProvider.php.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from . import middleware, web
from .controller import Ctx
from .faults import Faults
from .http import (
    GENERIC_500,
    STATUS_TEXT,
    ApiError,
    DroppedConnection,
    Request,
    Response,
    html_error,
    json_response,
    parse_body,
    parse_php_query,
)
from .routes import Route, build_routes
from .state import State
from .transformers import Transformer

ADMIN_PREFIX = "/_sandbox/"


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
        self.routes: list[Route] = build_routes()
        # Browser sessions of the sandbox's login page (web.py): token -> user id.
        self.web_sessions: dict[str, int] = {}

    # ================================================================== WSGI entry
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        req = self._build_request(environ)
        if req.path.startswith(ADMIN_PREFIX):
            status, headers, body = self._admin(req)
        elif web.handles(req.path):
            status, headers, body = web.dispatch(self, req)
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
    def random(self) -> float:
        """One draw from the fault/deploy generator, re-seeded when ``faults.seed`` changes."""
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
            if f.error_rate and self.random() < f.error_rate:
                raise ApiError(500, "HttpException", GENERIC_500)
            if f.throttle_rate and self.random() < f.throttle_rate:
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
            if f.timeout_rate and self.random() < f.timeout_rate:
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
            if mutating and f.drop_after_commit_rate and self.random() < f.drop_after_commit_rate:
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

    def _dispatch(self, req: Request, route: Route, rl_headers: list[tuple[str, str]]) -> Response:
        key, user = middleware.authenticate(self, req)  # 1
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
        if not middleware.ip_allowed(key, req.remote_addr):  # 4
            raise ApiError(
                403,
                "AccessDeniedHttpException",
                f"This IP address ({req.remote_addr}) does not have permission to access the API "
                "using these credentials.",
            )
        if route.api == "application":
            # ThrottleRequests sorts ahead of SubstituteBindings (Laravel's middleware priority),
            # then AuthenticateApplicationUser, then the form request's ACL check.
            middleware.throttle(self, route.api, user, rl_headers)  # 5
            with self.state.lock:
                models = middleware.bind(self.state, req, route)  # 6
            if not user["root_admin"]:  # 7
                raise ApiError(
                    403,
                    "AccessDeniedHttpException",
                    "This account does not have permission to access the API.",
                )
            if route.resource and not middleware.can(
                key, route.resource, 1 if route.method == "GET" else 2
            ):
                raise ApiError(
                    403, "AccessDeniedHttpException", "This action is unauthorized."
                )  # 8
        else:
            # The client-api group is SubstituteClientBindings, RequireClientApiKey, then the
            # throttle; AuthenticateServerAccess is a route middleware after them.
            with self.state.lock:
                models = middleware.bind(self.state, req, route)  # 5
            if key["type"] == "application":  # 6
                raise ApiError(
                    403,
                    "AccessDeniedHttpException",
                    "You are attempting to use an application API key on an endpoint that "
                    "requires a client API key.",
                )
            middleware.throttle(self, route.api, user, rl_headers)  # 7
            if "server" in models:
                middleware.server_access(user, models["server"])  # 8

        def can_read(resource: str) -> bool:
            return middleware.can(key, resource, 1)

        ctx = Ctx(self, req, route, user, key, models, Transformer(self.state, can_read))
        if route.locks_itself:
            return route.handler(ctx)  # manages the lock itself (race window)
        with self.state.lock:
            response = route.handler(ctx)
        if route.method != "GET":
            self.on_mutation()
        return response
