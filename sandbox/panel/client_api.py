"""Client API (``/api/client/servers/...``): pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Client/Servers/ServerController.php (view),
ResourceUtilizationController.php (resources) and PowerController.php (power, with
app/Http/Requests/Api/Client/Servers/SendPowerRequest.php). The 409s come from
app/Http/Middleware/Api/Client/Server/AuthenticateServerAccess.php through
app/Models/Server.php ``validateCurrentState``."""

from __future__ import annotations

from .controller import Ctx, Validator, daemon_unreachable
from .http import ApiError, Response, json_response
from .ports import port_mismatches
from .state import Record, State, start_attempt


def state_conflict(state: State, server: Record) -> None:
    node = state.nodes[server["node_id"]]
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
            "This server has not yet completed its installation process, please try again later."
        )
    elif server["status"] == "restoring_backup":
        message = "This server is currently restoring from a backup, please try again later."
    if message:
        raise ApiError(409, "ServerStateConflictException", message)


def client_view(ctx: Ctx) -> Response:
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


def client_resources(ctx: Ctx) -> Response:
    """The stats come from Wings (DaemonServerRepository::getDetails) through the controller's
    ``cache->remember("resources:$server->uuid", 20 s)``: within that window every caller sees
    the same answer, even after a power signal (the panel does not forget the key on power).
    The state machine advances when Wings is asked, i.e. on a cache miss."""
    app = ctx.app
    server = ctx.models["server"]
    state_conflict(app.state, server)
    now = app.clock()
    cached = server.get("stats_cache")
    if cached and cached[0] > now:
        return json_response(200, cached[1])
    if app.faults.wings_down:  # DaemonServerRepository::getDetails() cannot reach Wings
        raise daemon_unreachable()
    shown = server["power"]
    if server.get("power_pending"):
        shown = server["power_pending"][0]
        server["power"] = server["power_pending"][1]
        server["power_pending"] = None
    running = shown in ("running", "starting", "stopping")
    uptime = int((now - server["started_at"]) * 1000) if running and server["started_at"] else 0
    mem_limit = max(1, int(server["memory"] or 1024)) * 1024 * 1024
    payload = {
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
    }
    ttl = app.faults.resources_cache_seconds
    server["stats_cache"] = (now + ttl, payload) if ttl else None
    return json_response(200, payload)


def client_power(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    state_conflict(app.state, server)
    v = Validator(ctx.req.input)
    v.check("signal", "required|string|in:start,stop,restart,kill")
    v.raise_if_failed()
    if app.faults.wings_down:  # DaemonPowerRepository::send() cannot reach Wings
        raise daemon_unreachable()
    signal = ctx.req.input["signal"]
    now = app.clock()
    current = server["power"]
    if signal in ("start", "restart"):
        if port_mismatches(app.state, server):
            # Wings starts the container, the game fails on its ports: starting, then
            # offline (sandbox/panel/ports.py); start_error says why.
            start_attempt(app.state, server, now)
            server["power"] = "starting"
            server["power_pending"] = ("starting", "offline")
            return json_response(204, None)
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
