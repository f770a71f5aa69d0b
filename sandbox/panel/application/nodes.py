"""Nodes: pterodactyl/panel v1.11.8 app/Http/Controllers/Api/Application/Nodes/NodeController.php
and NodeDeploymentController.php (``GET /nodes/deployable``, through
app/Services/Deployment/FindViableNodesService.php); rules from app/Models/Node.php
``$validationRules``."""

from __future__ import annotations

from typing import Any

from .. import rules as rulelib
from ..controller import (
    Ctx,
    Validator,
    as_bool,
    as_int,
    exists,
    includes,
    paginate,
    partial,
    query,
    resource_url,
)
from ..http import GENERIC_500, ApiError, Response, display, json_response
from ..state import Record, State


def list_nodes(ctx: Ctx) -> Response:
    app = ctx.app
    inc = includes(ctx)
    rows = query(
        ctx,
        list(app.state.nodes.values()),
        {
            "uuid": partial("uuid"),
            "name": partial("name"),
            "fqdn": partial("fqdn"),
            "daemon_token_id": partial("daemon_token_id"),
        },
        {
            "id": lambda r: r["id"],
            "uuid": lambda r: r["uuid"],
            "memory": lambda r: r["memory"],
            "disk": lambda r: r["disk"],
        },
    )
    return json_response(200, paginate(ctx, rows, lambda r: ctx.tx.node(r, inc)))


def get_node(ctx: Ctx) -> Response:
    return json_response(200, ctx.tx.node(ctx.models["node"], includes(ctx)))


def viable_nodes(state: State, memory: int, disk: int, locations: list[int]) -> list[Record]:
    out = []
    for node in sorted(state.nodes.values(), key=lambda n: n["id"]):
        if not node["public"]:
            continue
        if locations and node["location_id"] not in locations:
            continue
        used_mem, used_disk = state.node_usage(node["id"])
        mem_cap = node["memory"] * (1 + node["memory_overallocate"] / 100)
        disk_cap = node["disk"] * (1 + node["disk_overallocate"] / 100)
        if used_mem + memory <= mem_cap and used_disk + disk <= disk_cap:
            out.append(node)
    return out


def deployable_nodes(ctx: Ctx) -> Response:
    app = ctx.app
    # GetDeployableNodesRequest::rules() (pterodactyl/panel v1.11.8
    # app/Http/Requests/Api/Application/Nodes/GetDeployableNodesRequest.php): page first.
    v = Validator(ctx.req.query)
    v.check("page", "integer")
    v.check("memory", "required|integer|min:0")
    v.check("disk", "required|integer|min:0")
    v.check("location_ids", "sometimes|array")
    v.each("location_ids", "integer")
    v.raise_if_failed()
    locs_raw = ctx.q("location_ids") or []
    locations = [int(x) for x in (locs_raw.values() if isinstance(locs_raw, dict) else locs_raw)]
    nodes = viable_nodes(app.state, int(ctx.q("memory")), int(ctx.q("disk")), locations)
    if not nodes:
        raise display(
            "No nodes satisfying the requirements specified for automatic deployment could be "
            "found.",
            "NoViableNodeException",
        )
    inc = includes(ctx)

    def render(n: Record) -> dict[str, Any]:
        mem, disk = app.state.node_usage(n["id"])
        return ctx.tx.node(n, inc, {"sum_memory": mem, "sum_disk": disk})

    if ctx.q("page") is not None:
        # NodeDeploymentController passes ``$request->query('per_page')`` unvalidated to
        # FindViableNodesService::handle(int $perPage = null, ...): a non-numeric string is a
        # PHP TypeError/warning, i.e. the generic 500.
        per_page = ctx.q("per_page")
        if per_page is not None and not rulelib.is_numeric(per_page):
            raise ApiError(500, "TypeError", GENERIC_500)
        return json_response(200, paginate(ctx, nodes, render))
    return json_response(200, {"object": "list", "data": [render(n) for n in nodes]})


def node_rules(state: State, data: dict[str, Any]) -> None:
    """StoreNodeRequest::rules() = ``collect(Node::getRules())->only([...])`` (pterodactyl/panel
    v1.11.8 app/Http/Requests/Api/Application/Nodes/StoreNodeRequest.php, rules from
    app/Models/Node.php), in the model's key order, keys snake_cased (daemonSFTP ->
    daemon_sftp); ``attributes()`` renames four. UpdateNodeRequest uses the same rules, so a
    PATCH must carry every required field too. ``description`` is not in the list: the API
    neither validates nor stores it. ``scheme`` is only ``required`` (no ``in:`` rule)."""
    v = Validator(data)
    v.check("name", r"required|regex:/^([\w .-]{1,100})$/")
    v.check("location_id", ["required", exists(state.locations)], "Location")
    v.check("public", "boolean", "Node Visibility")
    v.check("fqdn", "required|string")
    v.check("scheme", "required")
    v.check("behind_proxy", "boolean")
    v.check("memory", "required|numeric|min:1")
    v.check("memory_overallocate", "required|numeric|min:-1")
    v.check("disk", "required|numeric|min:1")
    v.check("disk_overallocate", "required|numeric|min:-1")
    v.check("daemon_base", r"sometimes|required|regex:/^([\/][\d\w.\-\/]+)$/", "Daemon Base Path")
    v.check("daemon_sftp", "required|numeric|between:1,65535")
    v.check("daemon_listen", "required|numeric|between:1,65535")
    v.check("maintenance_mode", "boolean")
    v.check("upload_size", "integer|between:1,1024", "File Upload Size Limit")
    v.raise_if_failed()


# app/Models/Node.php $attributes (model defaults) plus the column default upload_size 100.
NODE_DEFAULTS: dict[str, Any] = {
    "public": True,
    "behind_proxy": False,
    "maintenance_mode": False,
    "memory_overallocate": 0,
    "disk_overallocate": 0,
    "upload_size": 100,
    "daemon_listen": 8080,
    "daemon_sftp": 2022,
    "daemon_base": "/var/lib/pterodactyl/volumes",
    "description": None,
}


def apply_node(node: Record, data: dict[str, Any]) -> None:
    for key in ("name", "fqdn", "scheme", "daemon_base"):
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
            node[key] = as_int(data[key])
    for key in ("public", "behind_proxy", "maintenance_mode"):
        if key in data and data[key] is not None:
            node[key] = as_bool(data[key])


def create_node(ctx: Ctx) -> Response:
    app = ctx.app
    data = ctx.req.input
    node_rules(app.state, data)
    now = app.clock()
    node: Record = {
        "id": app.state.next_id("nodes"),
        "uuid": app.state.new_uuid(),
        **NODE_DEFAULTS,
        "created_at": now,
        "updated_at": now,
    }
    apply_node(node, data)
    app.state.nodes[node["id"]] = node
    body = ctx.tx.node(node)
    body["meta"] = resource_url(ctx, f"nodes/{node['id']}")
    return json_response(201, body)


def update_node(ctx: Ctx) -> Response:
    app = ctx.app
    node = ctx.models["node"]
    node_rules(app.state, ctx.req.input)
    apply_node(node, ctx.req.input)
    node["updated_at"] = app.clock()
    return json_response(200, ctx.tx.node(node))


def delete_node(ctx: Ctx) -> Response:
    app = ctx.app
    node = ctx.models["node"]
    if any(s["node_id"] == node["id"] for s in app.state.servers.values()):
        # app/Services/Nodes/NodeDeletionService.php: trans('exceptions.node.servers_attached').
        raise display(
            "A node must have no servers linked to it in order to be deleted.",
            "HasActiveServersException",
        )
    del app.state.nodes[node["id"]]
    for aid in [a["id"] for a in app.state.allocations.values() if a["node_id"] == node["id"]]:
        del app.state.allocations[aid]
    return json_response(204, None)
