"""The panel's request middleware for the API routes, as functions the pipeline in ``app.py``
calls in the panel's order. Upstream (pterodactyl/panel v1.11.8):

* ``authenticate``: Laravel Sanctum's guard as app/Providers/AuthServiceProvider.php wires it,
  with app/Models/ApiKey.php (identifier = first 16 characters, the rest is the secret) and
  app/Http/Middleware/Api/AuthenticateKey.php (expiry).
* ``ip_allowed``: app/Http/Middleware/Api/AuthenticateIPAccess.php.
* ``throttle``: the ``api.application`` / ``api.client`` limiters of
  app/Providers/RouteServiceProvider.php (per user, one-minute windows).
* ``bind``: route-model binding (app/Providers/RouteServiceProvider.php,
  app/Http/Middleware/Api/Client/SubstituteClientBindings.php for ``{server}`` on the client API).
* ``can``: app/Services/Acl/Api/AdminAcl.php (the ``r_*`` bitmask of an application key).
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import TYPE_CHECKING

from .http import ApiError, Request, not_found
from .state import Record, State

if TYPE_CHECKING:
    from .app import PanelApp
    from .routes import Route


def bearer_token(header: str) -> str | None:
    """Laravel v10.1.4 src/Illuminate/Http/Concerns/InteractsWithInput.php ``bearerToken()``:
    the text after the *last* ``Bearer `` (case-sensitive, so ``bearer x`` has no token), cut
    at the first comma. Nothing is trimmed."""
    position = header.rfind("Bearer ")
    if position == -1:
        return None
    token = header[position + 7 :]
    return token.split(",", 1)[0] if "," in token else token


def authenticate(app: PanelApp, req: Request) -> tuple[Record, Record]:
    """laravel/sanctum v3.2.1 src/Guard.php: ``getTokenFromRequest`` (bearer token; with a
    ``|`` the part before it must be digits, ApiKey's key type being int), then
    ``ApiKey::findToken`` (pterodactyl/panel v1.11.8 app/Models/ApiKey.php: identifier = first
    16 characters, the rest must equal the decrypted secret), then ``isValidAccessToken``
    (``expires_at`` in the past fails). Any failure is the same 401."""
    unauth = ApiError(401, "AuthenticationException", "Unauthenticated.")
    token = bearer_token(req.headers.get("authorization", ""))
    if not token:
        raise unauth
    if "|" in token:
        prefix, rest = token.split("|", 1)
        if not (prefix.isascii() and prefix.isdigit()) or not rest:
            raise unauth
    key = app.state.api_keys.get(token[:16])
    if key is None or key["secret"] != token[16:]:
        raise unauth
    if key.get("expires_at") is not None and key["expires_at"] <= app.clock():
        raise unauth
    user = app.state.users.get(key["user_id"])
    if user is None:
        raise unauth
    return key, user


def ip_allowed(key: Record, ip: str) -> bool:
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


def throttle(app: PanelApp, api: str, user: Record, headers: list[tuple[str, str]]) -> None:
    limit = app.faults.rate_limit if api == "application" else app.faults.client_rate_limit
    now = app.clock()
    bucket_key = (api, user["uuid"])
    with app.counter_lock:
        bucket = app.buckets.get(bucket_key)
        if bucket is None or now >= bucket[0] + 60:
            bucket = [now, 0]
            app.buckets[bucket_key] = bucket
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


def can(key: Record, resource: str, bit: int) -> bool:
    if key["type"] != "application":
        return True
    return bool(int(key["permissions"].get(f"r_{resource}", 0)) & bit)


_MYSQL_NUMBER = re.compile(r"^[ \t\n\r\f\v]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def mysql_id(raw: str) -> float | None:
    """What ``WHERE id = '<raw>'`` compares an integer key with: MySQL/MariaDB turn the string
    into a number from its leading numeric part ("7" and "7abc" -> 7, "abc" -> 0). Laravel's
    implicit binding (``{server:id}``) passes the path segment as it is."""
    m = _MYSQL_NUMBER.match(raw)
    if m is None:
        return 0.0
    try:
        return float(m.group(0))
    except (ValueError, OverflowError):
        return None


def _by_id(table: dict[int, Record], raw: str) -> Record | None:
    number = mysql_id(raw)
    if number is None or not number.is_integer():
        return None
    return table.get(int(number))


def bind(state: State, req: Request, route: Route) -> dict[str, Record]:
    """Route-model binding. Application routes: ``{user:id}`` etc. with ``scopeBindings()``
    (pterodactyl/panel v1.11.8 app/Providers/RouteServiceProvider.php), so an egg must belong to
    the nest and an allocation to the node in the path. Client routes: ``{server}`` is the
    8-character ``uuidShort`` or the full ``uuid`` (app/Http/Middleware/Api/Client/
    SubstituteClientBindings.php), compared under the case-insensitive collation. Ownership is
    checked later (``server_access``)."""
    st = state
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
            obj = _by_id(table, p[name])
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
            wanted = raw.lower()
            column = (lambda s: s["uuid"][:8]) if len(raw) == 8 else (lambda s: s["uuid"])
            server = next(
                (
                    s
                    for s in sorted(st.servers.values(), key=lambda s: s["id"])
                    if column(s).lower() == wanted
                ),
                None,
            )
        else:
            server = _by_id(st.servers, raw)
        if server is None:
            raise not_found()
        models["server"] = server
    return models


def server_access(user: Record, server: Record) -> None:
    """app/Http/Middleware/Api/Client/Server/AuthenticateServerAccess.php: only the owner or a
    root admin (the sandbox has no subusers); anyone else gets the same 404 as a missing
    server."""
    if user["id"] != server["owner_id"] and not user["root_admin"]:
        # trans('exceptions.api.resource_not_found'), not the binding's ModelNotFound text.
        raise ApiError(
            404, "NotFoundHttpException", "The requested resource does not exist on this server."
        )
