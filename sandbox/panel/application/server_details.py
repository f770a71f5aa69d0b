"""Server details and build: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Servers/ServerDetailsController.php, with
app/Http/Requests/Api/Application/Servers/UpdateServerDetailsRequest.php ->
app/Services/Servers/DetailsModificationService.php, and
app/Http/Requests/Api/Application/Servers/UpdateServerBuildConfigurationRequest.php ->
app/Services/Servers/BuildModificationService.php."""

from __future__ import annotations

from .. import rules as rulelib
from ..controller import Ctx, Validator, as_bool, as_int, as_num, exists
from ..http import Response, display, json_response


def update_details(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    data = ctx.req.input
    st = app.state
    v = Validator(data)
    ext_unique = rulelib.CustomRule(
        "unique",
        lambda value: (
            not any(
                s["external_id"] == value and s["id"] != server["id"] for s in st.servers.values()
            )
        ),
        "The :attribute has already been taken.",
    )
    v.check("external_id", ["sometimes", "nullable", "string", "between:1,191", ext_unique])
    v.check("name", "required|string|min:1|max:191")
    v.check("user", ["required", "integer", exists(st.users)])
    v.check("description", "sometimes|nullable|string")
    v.raise_if_failed()
    server.update(
        {
            "external_id": data.get("external_id"),
            "name": data["name"],
            "owner_id": as_int(data["user"]),
            "description": data.get("description") or "",
            "updated_at": app.clock(),
        }
    )
    return json_response(200, ctx.tx.server(server))


def update_build(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    data = ctx.req.input
    st = app.state
    v = Validator(data)
    not_other_primary = rulelib.CustomRule(
        "unique",
        lambda value: (
            not any(
                s["allocation_id"] == as_int(value) and s["id"] != server["id"]
                for s in st.servers.values()
            )
        ),
        "The :attribute has already been taken.",
    )
    v.check("allocation", ["required", "bail", not_other_primary, exists(st.allocations)])
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
    v.check("feature_limits.allocations", "sometimes|nullable|integer|min:0", "Allocation Limit")
    v.check("feature_limits.backups", "present|nullable|integer|min:0", "Backup Limit")
    v.raise_if_failed()

    alloc_id = as_int(data["allocation"])
    add = [as_int(x) for x in (data.get("add_allocations") or [])]
    remove = [as_int(x) for x in (data.get("remove_allocations") or [])]
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
        raise display("The requested default allocation is not currently assigned to this server.")
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
            "memory": as_num(limits["memory"]),
            "swap": as_num(limits["swap"]),
            "io": as_num(limits["io"]),
            "cpu": as_num(limits["cpu"]),
            "disk": as_num(limits["disk"]),
            "threads": limits.get("threads"),
            "database_limit": None if fl.get("databases") is None else as_int(fl["databases"]),
            "allocation_limit": None
            if fl.get("allocations") is None
            else as_int(fl["allocations"]),
            "backup_limit": None if fl.get("backups") is None else as_int(fl["backups"]),
            "updated_at": app.clock(),
        }
    )
    if "oom_disabled" in data and data["oom_disabled"] is not None:
        server["oom_disabled"] = as_bool(data["oom_disabled"])
    return json_response(200, ctx.tx.server(server))
