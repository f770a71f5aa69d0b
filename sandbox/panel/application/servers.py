"""Servers, read and delete: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Servers/ServerController.php (index, view, delete),
ExternalServerController.php and DatabaseController.php; deletion through
app/Services/Servers/ServerDeletionService.php. Create, details/build, startup and
suspend/reinstall live in the modules named after their services."""

from __future__ import annotations

from typing import Any

from ..controller import Ctx, daemon_unreachable, includes, paginate, partial, query
from ..http import Response, json_response, not_found
from ..state import Record, State


def list_servers(ctx: Ctx) -> Response:
    app = ctx.app
    inc = includes(ctx)
    rows = list(app.state.servers.values())

    def short(row: Record, value: Any) -> bool:  # the uuidShort column
        return partial("uuid")({"uuid": row["uuid"][:8]}, value)

    filters = {f: partial(f) for f in ("uuid", "name", "description", "image", "external_id")}
    filters["uuidShort"] = short
    order = ("uuid", "uuidShort", "name", "description", "image", "external_id")
    rows = query(
        ctx,
        rows,
        {f: filters[f] for f in order},
        {"id": lambda r: r["id"], "uuid": lambda r: r["uuid"]},
    )
    return json_response(200, paginate(ctx, rows, lambda s: ctx.tx.server(s, inc)))


def get_server(ctx: Ctx) -> Response:
    return json_response(200, ctx.tx.server(ctx.models["server"], includes(ctx)))


def get_server_external(ctx: Ctx) -> Response:
    app = ctx.app
    server = app.state.server_by_external_id(ctx.req.params["external_id"])
    if server is None:
        raise not_found()
    return json_response(200, ctx.tx.server(server, includes(ctx)))


def list_databases(ctx: Ctx) -> Response:
    return json_response(200, {"object": "list", "data": []})


def delete_server(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    force = ctx.req.params.get("force") == "force"
    if app.faults.wings_down and not force:
        raise daemon_unreachable()
    remove_server(app.state, server)
    return json_response(204, None)


def remove_server(state: State, server: Record) -> None:
    for alloc in state.server_allocations(server["id"]):
        alloc["server_id"] = None
    state.servers.pop(server["id"], None)
