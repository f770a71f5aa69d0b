"""The product's only Pterodactyl client (panel v1.11.x Application API + a few Client API calls).

Rules this module keeps; the panel files are pterodactyl/panel at tag v1.11.8:

* ``Accept: application/json`` on every request, ``Content-Type: application/json`` on bodies.
  Without them the panel answers errors with HTML or redirects (app/Exceptions/Handler.php
  renders JSON only when ``$request->expectsJson()``) and sees JSON bodies as empty.
* Explicit timeouts everywhere (connect 5 s); ``POST /servers`` waits on Wings, so it gets
  ``create_timeout`` (≥ 60 s by default).
* Lists are walked page by page with an explicit ``per_page`` (the controllers'
  ``->paginate($request->query('per_page') ?? 50)``); next-page URLs are built here.
* Filters are substring matches (spatie/laravel-query-builder ``allowedFilters([...])`` in
  app/Http/Controllers/Api/Application/Users/UserController.php and Servers/ServerController.php
  are partial filters): exact lookups use ``/external/{id}`` or compare client-side.
* Text is compared as the panel's MySQL compares it: without case (config/database.php,
  ``utf8mb4_unicode_ci``). ``/users/external/{id}`` and ``/servers/external/{id}``
  (``->where('external_id', $external_id)`` in the External*Controller.php files) therefore
  match an external id in any case, and e-mails are compared case-folded here.
* No retries here: the caller decides, using the error class (retryable/terminal/not found) and
  ``outcome_unknown``. Rate-limit headers are recorded on every response (``rate_limit``).
* The API keys never appear in reprs, logs or error messages; httpx exceptions are wrapped
  (``from None``: a chained httpx exception would carry the request and its Authorization header).
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from panel.errors import (
    FieldError,
    PanelClientKeyMissingError,
    PanelConflictError,
    PanelConnectionError,
    PanelError,
    PanelNotFoundError,
    PanelProtocolError,
    PanelRateLimitedError,
    PanelServerError,
    PanelTerminalError,
    PanelTimeoutError,
    PanelValidationError,
)
from panel.pagination import iter_list_items, page_params
from panel.throttle import RateLimiter
from panel.types import (
    ClientServerView,
    FeatureLimits,
    PanelAllocation,
    PanelEgg,
    PanelLocation,
    PanelNest,
    PanelNode,
    PanelServer,
    PanelUser,
    RateLimitState,
    ServerCreateSpec,
    ServerLimits,
    ServerResources,
    env_value,
)

__all__ = ["PanelClient"]

logger = logging.getLogger("panel.client")

T = TypeVar("T")

APPLICATION_PREFIX = "/api/application"
CLIENT_PREFIX = "/api"  # client templates start with /client/...
CONNECT_TIMEOUT = 5.0
MIN_CREATE_TIMEOUT = 60.0
DEFAULT_PER_PAGE = 100
ALLOCATIONS_PER_PAGE = 500  # nodes can have thousands; the Application API has no per_page cap
POWER_SIGNALS = frozenset({"start", "stop", "restart", "kill"})
USER_AGENT = "givrwrld-provisioning (+panel client)"

OnCall = Callable[[str, str, float], None]


def _outcome(exc: PanelError) -> str:
    if isinstance(exc, PanelNotFoundError):
        return "not_found"
    if isinstance(exc, PanelValidationError):
        return "validation"
    if isinstance(exc, PanelRateLimitedError):
        return "rate_limited"
    if isinstance(exc, PanelProtocolError):
        return "invalid_response"
    if isinstance(exc, PanelServerError):
        return "server_error"
    if isinstance(exc, PanelTimeoutError):
        return "timeout"
    if isinstance(exc, PanelConnectionError):
        return "connection"
    if isinstance(exc, PanelConflictError):
        return "conflict"
    return "terminal"


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def _normalise_base_url(base_url: str) -> str:
    """Accept ``https://panel.example.com``, with a trailing slash, or with ``/api/application``
    pasted on the end."""
    url = base_url.strip().rstrip("/")
    for suffix in (APPLICATION_PREFIX, "/api"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
            break
    return url


def _transport_error(exc: Exception, endpoint: str, seconds: float) -> PanelError:
    """Map an httpx exception to a panel error. Which side of "sent" it failed on decides
    ``outcome_unknown``."""
    name = type(exc).__name__
    took = f"after {seconds:.1f}s"
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return PanelTimeoutError(
            f"connect timeout {took} ({name})", endpoint=endpoint, outcome_unknown=False
        )
    if isinstance(exc, httpx.TimeoutException):  # ReadTimeout, WriteTimeout
        return PanelTimeoutError(
            f"no response {took} ({name}); the panel may have processed the request",
            endpoint=endpoint,
            outcome_unknown=True,
        )
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        return PanelConnectionError(
            f"could not connect to the panel ({name})", endpoint=endpoint, outcome_unknown=False
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.TooManyRedirects):
        return PanelTerminalError(f"bad panel URL or redirect ({name})", endpoint=endpoint)
    if isinstance(exc, httpx.DecodingError):
        return PanelProtocolError(
            f"could not decode the panel's response ({name})", endpoint=endpoint
        )
    # RemoteProtocolError, ReadError, WriteError, any other transport failure: the request may
    # have reached the panel before the connection dropped.
    return PanelConnectionError(
        f"connection to the panel dropped {took} ({name}); "
        "the panel may have processed the request",
        endpoint=endpoint,
        outcome_unknown=True,
    )


def _error_from_response(response: httpx.Response, endpoint: str) -> PanelError:
    status = response.status_code
    entries: list[Mapping[str, Any]] = []
    try:
        body = response.json()
        raw = body.get("errors") if isinstance(body, Mapping) else None
        if isinstance(raw, list):
            entries = [e for e in raw if isinstance(e, Mapping)]
    except ValueError:
        pass
    code = str(entries[0].get("code")) if entries and entries[0].get("code") else None
    details = [str(e.get("detail")) for e in entries if e.get("detail")]
    message = "; ".join(details) or (response.reason_phrase or f"HTTP {status}")
    kw: dict[str, Any] = {"status": status, "code": code, "endpoint": endpoint}

    if status == 404:
        return PanelNotFoundError(message, **kw)
    if status == 422:
        field_errors = []
        for e in entries:
            raw_meta = e.get("meta")
            meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
            field_errors.append(
                FieldError(
                    source_field=str(meta.get("source_field") or ""),
                    rule=str(meta.get("rule") or ""),
                    detail=str(e.get("detail") or ""),
                )
            )
        return PanelValidationError(message, errors=field_errors, **kw)
    if status == 429:
        return PanelRateLimitedError(
            message,
            retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            outcome_unknown=False,
            **kw,
        )
    if status >= 500:
        return PanelServerError(
            message, retry_after=_parse_retry_after(response.headers.get("Retry-After")), **kw
        )
    if status == 409:
        return PanelConflictError(message, **kw)
    if 300 <= status < 400:
        where = response.headers.get("Location", "")
        return PanelTerminalError(
            f"unexpected redirect to {where!r}: check the panel URL (HTTPS? path?)", **kw
        )
    return PanelTerminalError(message, **kw)


class PanelClient:
    """Synchronous, thread-compatible client. Create one per worker (or per task) and close it,
    or use it as a context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        client_api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        create_timeout: float = MIN_CREATE_TIMEOUT,
        on_call: OnCall | None = None,
        rate_limit_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url or not base_url.strip():
            raise PanelTerminalError("Panel URL is empty")
        if not api_key or not api_key.strip():
            raise PanelTerminalError("Panel application key is empty")
        self.base_url = _normalise_base_url(base_url)
        self._api_key = api_key.strip()
        self._client_api_key = client_api_key.strip() if client_api_key else None
        self.timeout = float(timeout)
        self.create_timeout = max(float(create_timeout), self.timeout)
        self._on_call = on_call
        self._rate_limit: RateLimitState | None = None
        # Application API only (the client API has its own, larger bucket). None = no pacing.
        self.throttle = (
            RateLimiter(per_minute=rate_limit_per_minute, clock=clock, sleep=sleep)
            if rate_limit_per_minute
            else None
        )
        # Background clients only (the panel sync duty): called before every Application API
        # request, it waits for the shared background budget (core/panel_budget.py).
        self.pace: Callable[[], None] | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )

    # --- construction / lifecycle -------------------------------------------------------------

    @classmethod
    def from_settings(cls, **kw: Any) -> PanelClient:
        """Build from the encrypted secrets table (``manage.py secrets set panel.PANEL_URL ...``).
        ``kw`` is passed to the constructor (transport, timeouts, on_call). Unless told
        otherwise, calls wait PANEL_TIMEOUT_SECONDS (server creates PANEL_CREATE_TIMEOUT_SECONDS,
        never less than the other), the client paces itself under PANEL_RATE_LIMIT_PER_MINUTE (when
        PANEL_SELF_THROTTLE) and reports every call to the metrics (core/metrics.py)."""
        from django.conf import settings  # lazy: panel must import without Django configured

        from core.secrets import secret_get

        url = secret_get("panel.PANEL_URL")
        key = secret_get("panel.PANEL_APP_KEY")
        if not url or not key:
            raise PanelTerminalError(
                "Panel URL/key not configured: run manage.py secrets set panel.PANEL_URL … "
                "and manage.py secrets set panel.PANEL_APP_KEY …"
            )
        kw.setdefault("client_api_key", secret_get("panel.PANEL_CLIENT_KEY") or None)
        kw.setdefault("timeout", settings.PANEL_TIMEOUT_SECONDS)
        kw.setdefault("create_timeout", settings.PANEL_CREATE_TIMEOUT_SECONDS)
        if settings.PANEL_SELF_THROTTLE:
            kw.setdefault("rate_limit_per_minute", settings.PANEL_RATE_LIMIT_PER_MINUTE)
        client = cls(url, key, **kw)
        if "on_call" not in kw:
            from core.metrics import panel_call_recorder

            client._on_call = panel_call_recorder(client)
        return client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PanelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        client_key = "set" if self._client_api_key else "unset"
        return f"PanelClient(base_url={self.base_url!r}, api_key=***, client_api_key={client_key})"

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("PanelClient cannot be pickled (it holds secrets and a connection pool)")

    @property
    def rate_limit(self) -> RateLimitState | None:
        """The last ``X-RateLimit-Limit``/``X-RateLimit-Remaining`` seen (any API)."""
        return self._rate_limit

    # --- transport ----------------------------------------------------------------------------

    def _record_rate_limit(self, headers: httpx.Headers) -> None:
        limit = _header_int(headers, "X-RateLimit-Limit")
        remaining = _header_int(headers, "X-RateLimit-Remaining")
        if limit is not None or remaining is not None:
            self._rate_limit = RateLimitState(
                limit=limit, remaining=remaining, observed_at=time.time()
            )

    def _report(self, endpoint: str, outcome: str, seconds: float) -> None:
        if self._on_call is None:
            return
        try:
            self._on_call(endpoint, outcome, seconds)
        except Exception:  # metrics must never break a panel call
            logger.exception("panel on_call hook failed for %s", endpoint)

    def _request(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        client_api: bool = False,
        timeout: float | None = None,
        benign_codes: Sequence[str] = (),
    ) -> Any:
        """One HTTP call. Returns the decoded JSON (None for an empty/204 body) or raises a
        PanelError. ``template`` is relative to the API prefix, e.g. ``/servers/{server_id}``;
        ``benign_codes`` are panel error codes that are answers, not failures (for metrics)."""
        endpoint = f"{method} {template}"
        if client_api:
            if not self._client_api_key:
                raise PanelClientKeyMissingError(
                    "Panel client API key not configured: run manage.py secrets set "
                    "panel.PANEL_CLIENT_KEY …",
                    endpoint=endpoint,
                )
            key = self._client_api_key
            prefix = CLIENT_PREFIX
        else:
            key = self._api_key
            prefix = APPLICATION_PREFIX
        url = prefix + template.format(
            **{k: quote(str(v), safe="") for k, v in (path or {}).items()}
        )
        headers = {"Authorization": f"Bearer {key}"}
        content: bytes | None = None
        if body is not None:
            content = jsonlib.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        read_timeout = self.timeout if timeout is None else timeout
        ids = {"panel_server_id": path["server_id"]} if path and "server_id" in path else {}
        throttle = None if client_api else self.throttle
        if self.pace is not None and not client_api:
            self.pace()
        if throttle is not None:
            throttle.before_request()
        started = time.perf_counter()
        try:
            try:
                response = self._http.request(
                    method,
                    url,
                    params=dict(params) if params else None,
                    content=content,
                    headers=headers,
                    timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
                )
                response.read()
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise _transport_error(exc, endpoint, time.perf_counter() - started) from None
            except Exception as exc:
                # A custom transport (tests, WSGI apps) can raise anything; to the caller it is
                # a connection that ended without an answer.
                raise PanelConnectionError(
                    f"transport failed ({type(exc).__name__}); "
                    "the panel may have processed the request",
                    endpoint=endpoint,
                    outcome_unknown=True,
                ) from None
            self._record_rate_limit(response.headers)
            if throttle is not None:
                throttle.observe(
                    limit=_header_int(response.headers, "X-RateLimit-Limit"),
                    remaining=_header_int(response.headers, "X-RateLimit-Remaining"),
                )
            if not response.is_success:
                raise _error_from_response(response, endpoint)
            result = self._decode(response, endpoint, method)
        except PanelError as err:
            elapsed = time.perf_counter() - started
            outcome = "ok" if err.code in benign_codes else _outcome(err)
            logger.info(
                "panel %s -> %s (%s) in %.3fs",
                endpoint,
                err.status or "-",
                outcome,
                elapsed,
                extra=ids,
            )
            self._report(endpoint, outcome, elapsed)
            raise
        elapsed = time.perf_counter() - started
        logger.debug("panel %s -> %s in %.3fs", endpoint, response.status_code, elapsed, extra=ids)
        self._report(endpoint, "ok", elapsed)
        return result

    @staticmethod
    def _decode(response: httpx.Response, endpoint: str, method: str) -> Any:
        if response.status_code == 204 or not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            ctype = response.headers.get("Content-Type", "?")
            raise PanelProtocolError(
                f"expected JSON, got {ctype!r} (is the panel URL right?)",
                status=response.status_code,
                code="InvalidResponse",
                endpoint=endpoint,
                outcome_unknown=method != "GET",
            ) from None

    @staticmethod
    def _map(endpoint: str, fn: Callable[[], T], *, mutating: bool = False) -> T:
        """Run a JSON → dataclass mapping; a shape we don't understand is a protocol error."""
        try:
            return fn()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PanelProtocolError(
                f"unexpected response shape ({type(exc).__name__}: {exc})",
                code="InvalidResponse",
                endpoint=endpoint,
                outcome_unknown=mutating,
            ) from None

    def _get_item(self, template: str, **kw: Any) -> Mapping[str, Any]:
        body = self._request("GET", template, **kw)
        return self._map(f"GET {template}", lambda: body["attributes"])

    def _iter(
        self,
        template: str,
        *,
        path: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        per_page: int = DEFAULT_PER_PAGE,
    ) -> Iterator[Mapping[str, Any]]:
        if per_page < 1:
            raise ValueError("per_page must be >= 1 (0 makes the panel fall back to 15)")
        base = dict(params or {})

        def fetch(page: int) -> Any:
            return self._request(
                "GET", template, path=path, params=page_params(base, page=page, per_page=per_page)
            )

        items = iter_list_items(fetch)
        endpoint = f"GET {template}"
        while True:
            try:
                attrs = next(items)
            except StopIteration:
                return
            except (KeyError, TypeError, ValueError) as exc:
                raise PanelProtocolError(
                    f"unexpected list shape ({type(exc).__name__}: {exc})",
                    code="InvalidResponse",
                    endpoint=endpoint,
                ) from None
            yield attrs

    @staticmethod
    def _filters(filters: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in filters.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            out[f"filter[{name}]"] = str(value)
        return out

    # --- users --------------------------------------------------------------------------------

    def user_get(self, *, user_id: int) -> PanelUser:
        a = self._get_item("/users/{user_id}", path={"user_id": int(user_id)})
        return self._map("GET /users/{user_id}", lambda: PanelUser.from_api(a))

    def user_get_by_external_id(self, *, external_id: str) -> PanelUser | None:
        """The user with this external_id, matched as the panel matches it (case-insensitive:
        utf8mb4_unicode_ci); None when there is none."""
        _require_external_id(external_id)
        try:
            a = self._get_item(
                "/users/external/{external_id}", path={"external_id": str(external_id)}
            )
        except PanelNotFoundError:
            return None
        return self._map("GET /users/external/{external_id}", lambda: PanelUser.from_api(a))

    def user_find_by_email(self, *, email: str) -> PanelUser | None:
        """``filter[email]`` is a case-insensitive SUBSTRING match (``bob@x.com`` also matches
        ``jimbob@x.com.au``), 50 per page by default: walk every page, compare exactly."""
        wanted = email.strip().casefold()
        if not wanted:
            return None
        for user in self.users_iter(per_page=DEFAULT_PER_PAGE, email=email.strip()):
            if user.email.strip().casefold() == wanted:
                return user
        return None

    def user_create(
        self,
        *,
        email: str,
        username: str,
        first_name: str,
        last_name: str,
        external_id: str | None = None,
        password: str | None = None,
    ) -> PanelUser:
        """422 with ``has("email", "unique")`` means the user exists: find them, don't fail."""
        body: dict[str, Any] = {
            "email": email,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
        }
        if external_id is not None:
            body["external_id"] = str(external_id)  # a JSON number fails the `string` rule
        if password:
            body["password"] = password
        data = self._request("POST", "/users", body=body)
        return self._map(
            "POST /users", lambda: PanelUser.from_api(data["attributes"]), mutating=True
        )

    def user_set_password(self, *, user_id: int, password: str) -> PanelUser:
        """Set the user's panel password. ``PATCH /users/{id}`` validates the whole user
        (pterodactyl/panel v1.11.8 app/Http/Requests/Api/Application/Users/UpdateUserRequest.php:
        ``User::getRulesForUpdate``, email/username/first_name/last_name required), so the
        user's current fields are read first and sent back unchanged with the password;
        app/Services/Users/UserUpdateService.php hashes a non-empty password and ignores an
        empty one, hence the refusal here. The password goes in the body only: never logged."""
        if not password:
            raise ValueError("password must be a non-empty string")
        user = self.user_get(user_id=user_id)
        body = {
            "email": user.email,
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "language": user.language,
            "password": password,
        }
        data = self._request("PATCH", "/users/{user_id}", path={"user_id": int(user_id)}, body=body)
        return self._map(
            "PATCH /users/{user_id}", lambda: PanelUser.from_api(data["attributes"]), mutating=True
        )

    def user_delete(self, *, user_id: int) -> None:
        """204. 400 DisplayException while the user still owns servers."""
        self._request("DELETE", "/users/{user_id}", path={"user_id": int(user_id)})

    def users_iter(
        self, *, per_page: int = DEFAULT_PER_PAGE, **filters: Any
    ) -> Iterator[PanelUser]:
        """Every user matching the (substring) filters: ``email``, ``uuid``, ``username``,
        ``external_id``. Sorted by id for stable paging."""
        params = {"sort": "id", **self._filters(filters)}
        for a in self._iter("/users", params=params, per_page=per_page):
            yield self._map("GET /users", partial(PanelUser.from_api, a))

    # --- catalogue / capacity -----------------------------------------------------------------

    def locations_list(self) -> list[PanelLocation]:
        return [
            self._map("GET /locations", partial(PanelLocation.from_api, a))
            for a in self._iter("/locations", params={"sort": "id"})
        ]

    def nodes_list(self) -> list[PanelNode]:
        return [
            self._map("GET /nodes", partial(PanelNode.from_api, a))
            for a in self._iter("/nodes", params={"sort": "id"})
        ]

    def node_get(self, *, node_id: int) -> PanelNode:
        a = self._get_item("/nodes/{node_id}", path={"node_id": int(node_id)})
        return self._map("GET /nodes/{node_id}", lambda: PanelNode.from_api(a))

    def nodes_deployable(
        self, *, memory: int, disk: int, location_ids: Sequence[int] = ()
    ) -> list[PanelNode]:
        """Nodes that would pass ``deploy``'s capacity filter (MiB). No match is an answer:
        the panel's 400 ``NoViableNodeException`` becomes ``[]``. Unpaginated (no ``page``)."""
        params: dict[str, Any] = {"memory": int(memory), "disk": int(disk)}
        if location_ids:
            params["location_ids[]"] = [int(x) for x in location_ids]
        try:
            body = self._request(
                "GET",
                "/nodes/deployable",
                params=params,
                benign_codes=("NoViableNodeException",),
            )
        except PanelTerminalError as err:
            if err.code == "NoViableNodeException":
                return []
            raise
        return self._map(
            "GET /nodes/deployable",
            lambda: [PanelNode.from_api(item["attributes"]) for item in body["data"]],
        )

    def allocations_list(
        self, *, node_id: int, free_only: bool = False, per_page: int = ALLOCATIONS_PER_PAGE
    ) -> list[PanelAllocation]:
        """Every allocation of the node (every page). ``free_only`` sends
        ``filter[server_id]=0``: an empty value would be dropped by the panel and return all."""
        params = {"filter[server_id]": "0"} if free_only else {}
        template = "/nodes/{node_id}/allocations"
        return [
            self._map(f"GET {template}", partial(PanelAllocation.from_api, a, node_id=node_id))
            for a in self._iter(
                template, path={"node_id": int(node_id)}, params=params, per_page=per_page
            )
        ]

    def nests_list(self) -> list[PanelNest]:
        return [
            self._map("GET /nests", partial(PanelNest.from_api, a)) for a in self._iter("/nests")
        ]

    def eggs_list(self, *, nest_id: int) -> list[PanelEgg]:
        """All eggs of the nest (not paginated), with their variables."""
        template = "/nests/{nest_id}/eggs"
        body = self._request(
            "GET", template, path={"nest_id": int(nest_id)}, params={"include": "variables"}
        )
        return self._map(
            f"GET {template}",
            lambda: [PanelEgg.from_api(item["attributes"]) for item in body["data"]],
        )

    def egg_get(self, *, nest_id: int, egg_id: int) -> PanelEgg:
        """404 also when the egg exists but belongs to another nest."""
        template = "/nests/{nest_id}/eggs/{egg_id}"
        a = self._get_item(
            template,
            path={"nest_id": int(nest_id), "egg_id": int(egg_id)},
            params={"include": "variables"},
        )
        return self._map(f"GET {template}", lambda: PanelEgg.from_api(a))

    # --- servers ------------------------------------------------------------------------------

    def server_get(self, *, server_id: int) -> PanelServer:
        template = "/servers/{server_id}"
        a = self._get_item(
            template, path={"server_id": int(server_id)}, params={"include": "allocations"}
        )
        return self._map(f"GET {template}", lambda: PanelServer.from_api(a))

    def server_get_by_external_id(self, *, external_id: str) -> PanelServer | None:
        """The server with this external_id (the idempotency key), matched as the panel matches
        it (case-insensitive: utf8mb4_unicode_ci); None when there is none."""
        _require_external_id(external_id)
        template = "/servers/external/{external_id}"
        try:
            a = self._get_item(
                template,
                path={"external_id": str(external_id)},
                params={"include": "allocations"},
            )
        except PanelNotFoundError:
            return None
        return self._map(f"GET {template}", lambda: PanelServer.from_api(a))

    def servers_iter(
        self, *, per_page: int = DEFAULT_PER_PAGE, allocations: bool = True, **filters: Any
    ) -> Iterator[PanelServer]:
        """Every server matching the (substring) filters: ``uuid``, ``uuidShort``, ``name``,
        ``description``, ``image``, ``external_id``. Sorted by id; with their allocations
        unless ``allocations=False`` (the panel then skips a query per page)."""
        params: dict[str, Any] = {"sort": "id", **self._filters(filters)}
        if allocations:
            params["include"] = "allocations"
        for a in self._iter("/servers", params=params, per_page=per_page):
            yield self._map("GET /servers", partial(PanelServer.from_api, a))

    def server_create(self, spec: ServerCreateSpec) -> PanelServer:
        """One call, ``create_timeout`` long (the panel waits on Wings). The result has
        ``allocations == ()``: the 201 has the primary ``allocation_id``, and the caller knows its
        ip:port from the allocation it reserved (after a ``deploy`` create, use ``server_get``).

        After PanelRetryableError with ``outcome_unknown``, look the server up by external_id
        before retrying. 422 ``has("external_id", "unique")`` means it already exists."""
        data = self._request("POST", "/servers", body=spec.to_api(), timeout=self.create_timeout)
        return self._map(
            "POST /servers", lambda: PanelServer.from_api(data["attributes"]), mutating=True
        )

    def server_update_details(
        self,
        *,
        server_id: int,
        name: str,
        user_id: int,
        external_id: str | None,
        description: str | None,
    ) -> PanelServer:
        """Full replace: the panel writes all four fields every time (a missing external_id
        becomes null), so all four are always sent."""
        template = "/servers/{server_id}/details"
        body = {
            "name": name,
            "user": int(user_id),
            "external_id": None if external_id is None else str(external_id),
            "description": description,
        }
        data = self._request("PATCH", template, path={"server_id": int(server_id)}, body=body)
        return self._map(
            f"PATCH {template}", lambda: PanelServer.from_api(data["attributes"]), mutating=True
        )

    def server_update_build(
        self,
        *,
        server_id: int,
        allocation_id: int,
        limits: ServerLimits,
        feature_limits: FeatureLimits,
        add_allocations: Sequence[int] = (),
        remove_allocations: Sequence[int] = (),
    ) -> PanelServer:
        """Not a partial update: ``allocation`` (the current primary if unchanged), every limit,
        and feature_limits with databases + backups (+ allocations) are always sent."""
        template = "/servers/{server_id}/build"
        body: dict[str, Any] = {
            "allocation": int(allocation_id),
            "limits": limits.to_api(),
            "oom_disabled": bool(limits.oom_disabled),
            "feature_limits": feature_limits.to_api(),
        }
        if add_allocations:
            body["add_allocations"] = [int(x) for x in add_allocations]
        if remove_allocations:
            body["remove_allocations"] = [int(x) for x in remove_allocations]
        data = self._request("PATCH", template, path={"server_id": int(server_id)}, body=body)
        return self._map(
            f"PATCH {template}", lambda: PanelServer.from_api(data["attributes"]), mutating=True
        )

    def server_update_startup(
        self,
        *,
        server_id: int,
        startup: str,
        environment: dict[str, str],
        egg_id: int,
        image: str,
        skip_scripts: bool = False,
    ) -> PanelServer:
        """The image key is ``image`` here (not ``docker_image``). A non-empty environment resets
        every variable you leave out to ``""``: send the full map, or ``{}`` to keep them."""
        template = "/servers/{server_id}/startup"
        body = {
            "startup": startup,
            "environment": {str(k): env_value(v) for k, v in environment.items()},
            "egg": int(egg_id),
            "image": image,
            "skip_scripts": bool(skip_scripts),
        }
        data = self._request("PATCH", template, path={"server_id": int(server_id)}, body=body)
        return self._map(
            f"PATCH {template}", lambda: PanelServer.from_api(data["attributes"]), mutating=True
        )

    def server_suspend(self, *, server_id: int) -> None:
        """Idempotent. Needs Wings up (a failed sync rolls back and raises PanelServerError)."""
        self._request("POST", "/servers/{server_id}/suspend", path={"server_id": int(server_id)})

    def server_unsuspend(self, *, server_id: int) -> None:
        """Sets status to null whatever it was (even while installing)."""
        self._request("POST", "/servers/{server_id}/unsuspend", path={"server_id": int(server_id)})

    def server_reinstall(self, *, server_id: int) -> None:
        """Status → installing (this also lifts a suspension)."""
        self._request("POST", "/servers/{server_id}/reinstall", path={"server_id": int(server_id)})

    def server_delete(self, *, server_id: int, force: bool = False) -> None:
        """Non-force delete aborts if Wings is down; ``force`` removes the panel row anyway
        (may leave an orphan container)."""
        template = "/servers/{server_id}/force" if force else "/servers/{server_id}"
        self._request("DELETE", template, path={"server_id": int(server_id)})

    # --- client API ---------------------------------------------------------------------------

    def client_server_view(self, *, identifier: str) -> ClientServerView:
        """Always allowed (even while installing/suspended): read ``status`` here first."""
        template = "/client/servers/{identifier}"
        a = self._get_item(template, path={"identifier": identifier}, client_api=True)
        return self._map(f"GET {template}", lambda: ClientServerView.from_api(a))

    def client_server_resources(self, *, identifier: str) -> ServerResources:
        """409 (PanelConflictError) while installing, suspended, restoring or transferring."""
        template = "/client/servers/{identifier}/resources"
        a = self._get_item(template, path={"identifier": identifier}, client_api=True)
        return self._map(f"GET {template}", lambda: ServerResources.from_api(a))

    def client_power(self, *, identifier: str, signal: str) -> None:
        if signal not in POWER_SIGNALS:
            raise ValueError(f"signal must be one of {sorted(POWER_SIGNALS)}")
        self._request(
            "POST",
            "/client/servers/{identifier}/power",
            path={"identifier": identifier},
            body={"signal": signal},
            client_api=True,
        )


def _require_external_id(external_id: str) -> None:
    # An empty segment would hit the list route; a "/" can't be routed by the panel (§4.6.1).
    if not external_id or not str(external_id).strip():
        raise ValueError("external_id must be a non-empty string")
