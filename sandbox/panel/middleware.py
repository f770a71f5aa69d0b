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
from typing import TYPE_CHECKING

from .http import ApiError, Request, not_found
from .state import Record, State

if TYPE_CHECKING:
    from .app import PanelApp
    from .routes import Route


def authenticate(app: PanelApp, req: Request) -> tuple[Record, Record]:
    auth = req.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    unauth = ApiError(401, "AuthenticationException", "Unauthenticated.")
    if len(token) < 17:
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


def bind(state: State, req: Request, route: Route, user: Record) -> dict[str, Record]:
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
