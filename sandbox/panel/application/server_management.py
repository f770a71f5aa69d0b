"""Suspend, unsuspend, reinstall: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Servers/ServerManagementController.php ->
app/Services/Servers/SuspensionService.php and ReinstallServerService.php."""

from __future__ import annotations

from ..controller import Ctx, daemon_unreachable
from ..http import Response, json_response


def suspend(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    if server["status"] == "suspended":
        return json_response(204, None)
    if app.faults.wings_down:
        raise daemon_unreachable()
    server["status"] = "suspended"
    server["power"] = "offline"
    return json_response(204, None)


def unsuspend(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    if server["status"] != "suspended":
        return json_response(204, None)
    if app.faults.wings_down:
        raise daemon_unreachable()
    server["status"] = None
    return json_response(204, None)


def reinstall(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    if app.faults.wings_down:
        raise daemon_unreachable()
    server["status"] = "installing"
    server["install_pending"] = "reinstall"
    server["install_started_at"] = app.clock()
    server["power"] = "offline"
    return json_response(204, None)
