"""Client API (``/api/client/servers/...``): pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Client/Servers/ServerController.php (view),
ResourceUtilizationController.php (resources) and PowerController.php (power, with
app/Http/Requests/Api/Client/Servers/SendPowerRequest.php). The 409s come from
app/Http/Middleware/Api/Client/Server/AuthenticateServerAccess.php through
app/Models/Server.php ``validateCurrentState``."""

from __future__ import annotations

from .controller import Ctx, Validator, daemon_unreachable
from .http import ApiError, Response, json_response
from .state import Record, State


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
    app = ctx.app
    server = ctx.models["server"]
    state_conflict(app.state, server)
    if app.faults.wings_down:  # DaemonServerRepository::getDetails() cannot reach Wings
        raise daemon_unreachable()
    shown = server["power"]
    if server.get("power_pending"):
        shown = server["power_pending"][0]
        server["power"] = server["power_pending"][1]
        server["power_pending"] = None
    running = shown in ("running", "starting", "stopping")
    now = app.clock()
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
