"""Server details and build: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Servers/ServerDetailsController.php, with
app/Http/Requests/Api/Application/Servers/UpdateServerDetailsRequest.php ->
app/Services/Servers/DetailsModificationService.php, and
app/Http/Requests/Api/Application/Servers/UpdateServerBuildConfigurationRequest.php ->
app/Services/Servers/BuildModificationService.php."""

from __future__ import annotations

from typing import Any

from .. import rules as rulelib
from ..controller import Ctx, Validator, as_bool, as_int, as_num, exists
from ..http import Response, display, json_response
from ..state import Record, State, collate


def _external_id_unique(st: State, server: Record) -> rulelib.CustomRule:
    """``unique:servers`` on external_id, ignoring this server (Model::getRulesForUpdate), under
    the panel's ``utf8mb4_unicode_ci`` collation."""

    def passes(value: Any) -> bool:
        key = collate(value)
        return not any(
            s["external_id"] is not None and collate(s["external_id"]) == key
            for s in st.servers.values()
            if s["id"] != server["id"]
        )

    return rulelib.CustomRule("unique", passes, "The :attribute has already been taken.")


def update_details(ctx: Ctx) -> Response:
    """UpdateServerDetailsRequest: the model's rules for external_id, name, owner_id (as
    ``user``) and ``nullable`` + description; ``attributes()`` names ``user`` "User ID" and
    ``name`` "Server Name" in messages. DetailsModificationService then writes all four
    (``validated()`` reads ``input()``, so an omitted external_id or description is cleared)."""
    app = ctx.app
    server = ctx.models["server"]
    data = ctx.req.input
    st = app.state
    v = Validator(data)
    v.check(
        "external_id",
        ["sometimes", "nullable", "string", "between:1,191", _external_id_unique(st, server)],
    )
    v.check("name", "required|string|min:1|max:191", "Server Name")
    v.check("user", ["required", "integer", exists(st.users)], "User ID")
    v.check("description", "nullable|string")
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


def _php_strict_equal(a: Any, b: Any) -> bool:
    """PHP ``===`` between two decoded JSON values (int vs "int" string is false)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return type(a) is type(b) and a == b


def update_build(ctx: Ctx) -> Response:
    """UpdateServerBuildConfigurationRequest, then BuildModificationService::handle (one
    transaction: nothing changes when it throws)."""
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
    limits_given = bool(data.get("limits"))  # required_with / !empty($data['limits'])
    ctx_l = {"limits": data.get("limits")} if "limits" in data else {}
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
    v.each("add_allocations", "integer", "allocation to add")
    v.check("remove_allocations", "bail|array", "allocations to remove")
    v.each("remove_allocations", "integer", "allocation to remove")
    v.check("feature_limits", "required|array")
    v.check("feature_limits.databases", "present|nullable|integer|min:0", "Database Limit")
    v.check("feature_limits.allocations", "sometimes|nullable|integer|min:0", "Allocation Limit")
    v.check("feature_limits.backups", "present|nullable|integer|min:0", "Backup Limit")
    v.raise_if_failed()

    requested = data["allocation"]
    add_raw = data.get("add_allocations") or []
    remove_raw = data.get("remove_allocations") or []
    add_raw = list(add_raw.values()) if isinstance(add_raw, dict) else list(add_raw)
    remove_raw = list(remove_raw.values()) if isinstance(remove_raw, dict) else list(remove_raw)
    add = [as_int(x) for x in add_raw]
    # processAllocations(): only free allocations on the server's node are added; the first
    # of them (by id) is the fallback default.
    attachable = sorted(
        a
        for a in set(add)
        if a in st.allocations
        and st.allocations[a]["node_id"] == server["node_id"]
        and st.allocations[a]["server_id"] is None
    )
    fresh = attachable[0] if attachable else None
    for raw in remove_raw:
        # ``$allocation === ($data['allocation_id'] ?? $server->allocation_id)``: the check is
        # against the *requested* default, so removing the current default while naming
        # another owned allocation is allowed and the default switches.
        if _php_strict_equal(raw, requested):
            if fresh is None:
                raise display(
                    "You are attempting to delete the default allocation for this server "
                    "but there is no fallback allocation to use."
                )
            requested = fresh
    owned_after = {a["id"] for a in st.server_allocations(server["id"])} | set(attachable)
    released = {as_int(x) for x in remove_raw} - set(add)
    owned_after -= released
    new_default = as_int(requested)
    if new_default != server["allocation_id"] and new_default not in owned_after:
        raise display("The requested default allocation is not currently assigned to this server.")
    for aid in attachable:
        st.allocations[aid]["server_id"] = server["id"]
        st.allocations[aid]["notes"] = None
    for aid in released:
        alloc = st.allocations.get(aid)
        if alloc is not None and alloc["server_id"] == server["id"]:
            alloc["server_id"] = None
            alloc["notes"] = None
    limits = data["limits"] if limits_given else data
    assert isinstance(limits, dict)
    fl = data["feature_limits"]
    changes: dict[str, Any] = {"allocation_id": new_default, "updated_at": app.clock()}
    for key in ("memory", "swap", "io", "cpu", "disk"):
        changes[key] = as_num(limits[key])
    # Arr::only($data, [... 'threads' ...]): threads changes only when it was sent.
    if "threads" in limits:
        changes["threads"] = limits["threads"]
    # 'database_limit' => Arr::get($data, 'database_limit', 0) ?? null, likewise
    # allocation_limit, but 'backup_limit' => ... ?? 0: a null backup limit is stored as 0
    # (pinned by the panel's tests/Integration/Services/Servers/BuildModificationServiceTest.php).
    changes["database_limit"] = None if fl.get("databases") is None else as_int(fl["databases"])
    changes["allocation_limit"] = (
        None if fl.get("allocations") is None else as_int(fl["allocations"])
    )
    changes["backup_limit"] = 0 if fl.get("backups") is None else as_int(fl["backups"])
    server.update(changes)
    if "oom_disabled" in data and data["oom_disabled"] is not None:
        server["oom_disabled"] = as_bool(data["oom_disabled"])
    return json_response(200, ctx.tx.server(server))
