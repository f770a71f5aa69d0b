"""Server creation: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Servers/ServerController.php ``store`` with
app/Http/Requests/Api/Application/Servers/StoreServerRequest.php, then
app/Services/Servers/ServerCreationService.php (allocation from
app/Services/Deployment/AllocationSelectionService.php and FindViableNodesService.php,
environment from app/Services/Servers/VariableValidatorService.php)."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from .. import rules as rulelib
from ..controller import (
    Ctx,
    Validator,
    as_bool,
    as_int,
    as_num,
    daemon_unreachable,
    exists,
    php_str,
)
from ..http import ApiError, Response, ValidationFailed, display, json_response
from ..state import Record, State
from .nodes import viable_nodes
from .servers import remove_server

if TYPE_CHECKING:
    from ..app import PanelApp

# app/Models/Server.php ``$validationRules['image']`` at v1.11.8, used by StoreServerRequest
# (``docker_image``) and UpdateServerStartupRequest (``image``). The panel's develop branch
# later allowed a leading ``~`` (``/^~?[\w\.\/\-:@ ]*$/``); v1.11.8 does not, and we follow it.
IMAGE_RULE = r"regex:/^[\w\.\/\-:@ ]*$/"


def free_allocation(state: State) -> rulelib.CustomRule:
    def passes(value: Any) -> bool:
        if not rulelib.is_numeric(value) or not float(value).is_integer():
            return False
        alloc = state.allocations.get(int(float(value)))
        return alloc is not None and alloc["server_id"] is None

    return rulelib.CustomRule("exists", passes, "The selected :attribute is invalid.")


def validate_create(app: PanelApp, data: dict[str, Any]) -> None:
    st = app.state
    v = Validator(data)
    ext_unique = rulelib.CustomRule(
        "unique",
        lambda value: st.server_by_external_id(value) is None,
        "The :attribute has already been taken.",
    )
    v.check("external_id", ["sometimes", "nullable", "string", "between:1,191", ext_unique])
    v.check("name", "required|string|min:1|max:191")
    v.check("description", "nullable|string")
    v.check("user", ["required", "integer", exists(st.users)])
    v.check("egg", ["required", exists(st.eggs)])
    v.check("docker_image", ["required", "string", "max:191", IMAGE_RULE])
    v.check("startup", "required|string")
    v.check("environment", "present|array")
    v.check("skip_scripts", "sometimes|boolean")
    v.check("oom_disabled", "sometimes|boolean")
    v.check("limits", "required|array")
    v.check("limits.memory", "required|numeric|min:0")
    v.check("limits.swap", "required|numeric|min:-1")
    v.check("limits.disk", "required|numeric|min:0")
    v.check("limits.io", "required|numeric|between:10,1000")
    v.check("limits.threads", "nullable|regex:/^[0-9-,]+$/")
    v.check("limits.cpu", "required|numeric|min:0")
    v.check("feature_limits", "required|array")
    v.check("feature_limits.databases", "present|nullable|integer|min:0")
    v.check("feature_limits.allocations", "sometimes|nullable|integer|min:0")
    v.check("feature_limits.backups", "present|nullable|integer|min:0")
    deploy = data.get("deploy")
    if not deploy:
        v.check("allocation.default", ["required", "integer", "bail", free_allocation(st)])
        v.each("allocation.additional", ["integer", free_allocation(st)])
    v.check("deploy", "sometimes|required|array")
    ctx = {"deploy": deploy} if "deploy" in data else {}
    if deploy:
        v.check("deploy.locations", "present|array")
    else:
        v.check("deploy.locations", "array")
    v.each("deploy.locations", "integer|min:1")
    v.check("deploy.dedicated_ip", "required_with:deploy,boolean", context=ctx)
    if deploy:
        v.check("deploy.port_range", "present|array")
    else:
        v.check("deploy.port_range", "array")
    v.each("deploy.port_range", "string")
    v.check("start_on_completion", "sometimes|boolean")
    v.raise_if_failed()


def pick_allocation(app: PanelApp, data: dict[str, Any]) -> Record:
    deploy = data["deploy"]
    locations = [int(x) for x in deploy.get("locations") or []]
    nodes = viable_nodes(
        app.state, as_int(data["limits"]["memory"]), as_int(data["limits"]["disk"]), locations
    )
    if not nodes:
        raise display(
            "No nodes satisfying the requirements specified for automatic deployment could be "
            "found.",
            "NoViableNodeException",
        )
    ports: set[int] = set()
    ranges: list[tuple[int, int]] = []
    for entry in deploy.get("port_range") or []:
        # AllocationSelectionService::setPorts(): is_digit() (ASCII ctype_digit) or
        # AssignmentService::PORT_RANGE_REGEX; anything else is silently ignored.
        text = str(entry)
        if text.isascii() and text.isdigit():
            ports.add(int(text))
            continue
        m = re.fullmatch(r"(\d{4,5})-(\d{4,5})", text, re.ASCII)
        if m:
            low, high = int(m.group(1)), int(m.group(2))
            if abs(high - low) > 1000:
                raise display(
                    "Adding more than 1000 ports in a single range at once is not supported."
                )
            ranges.append((low, high))
    node_ids = {n["id"] for n in nodes}
    candidates = [
        a
        for a in app.state.allocations.values()
        if a["node_id"] in node_ids and a["server_id"] is None
    ]
    if ports or ranges:
        candidates = [
            a
            for a in candidates
            if a["port"] in ports or any(lo <= a["port"] <= hi for lo, hi in ranges)
        ]
    if as_bool(deploy.get("dedicated_ip")):
        used = {
            (a["node_id"], a["ip"])
            for a in app.state.allocations.values()
            if a["server_id"] is not None
        }
        candidates = [a for a in candidates if (a["node_id"], a["ip"]) not in used]
    if not candidates:
        raise display(
            "No allocations satisfying the requirements for automatic deployment were found.",
            "NoViableAllocationException",
        )
    candidates.sort(key=lambda a: a["id"])
    app.random()  # keep the generator in sync with a changed seed
    return app.rng.choice(candidates)


def validate_env(state: State, egg_id: int, env: Any) -> dict[str, Any]:
    env = env if isinstance(env, dict) else {}
    errors: list[tuple[str, str, str]] = []
    values: dict[str, Any] = {}
    for var in state.egg_variables(egg_id):
        key = var["env_variable"]
        value = env.get(key)
        for rule, message in rulelib.validate(value, var["rules"], f"{var['name']} variable"):
            errors.append((f"environment.{key}", rule, message))
        # ServerCreationService / StartupModificationService store ``$value ?? ''``; Laravel's
        # Connection::prepareBindings turns a boolean into 1/0, PHP prints 5.0 as "5".
        values[key] = (
            ""
            if value is None
            else (("1" if value else "0") if isinstance(value, bool) else php_str(value))
        )
    if errors:
        raise ValidationFailed(errors)
    return values


def data_validation_error(field: str, message: str) -> ApiError:
    payload = json.dumps({field: [message]}).replace("/", "\\/")
    return ApiError(
        500,
        "DataValidationException",
        f"Could not save Pterodactyl\\Models\\Server[]: failed to validate data: {payload}",
    )


def create_server(ctx: Ctx) -> Response:
    app = ctx.app
    st = app.state
    data = ctx.req.input
    with st.lock:  # step 2 + 3 + 4 (the real panel has no lock; we need consistent reads)
        validate_create(app, data)
        if data.get("deploy"):
            allocation = pick_allocation(app, data)
        else:
            allocation = st.allocations[as_int(data["allocation"]["default"])]
        egg = st.eggs[as_int(data["egg"])]
        env = validate_env(app.state, egg["id"], data.get("environment"))
        if app.faults.allocation_race > 0 and not data.get("deploy"):
            app.faults.allocation_race -= 1
            insert_phantom(app, allocation, egg)
    if app.faults.race_window:
        time.sleep(app.faults.race_window)
    with st.lock:  # step 5: insert with model re-validation
        if allocation["server_id"] is not None or any(
            s["allocation_id"] == allocation["id"] for s in st.servers.values()
        ):
            raise data_validation_error(
                "allocation_id", "The allocation id has already been taken."
            )
        ext = data.get("external_id")
        if ext is not None and st.server_by_external_id(ext) is not None:
            raise data_validation_error("external_id", "The external id has already been taken.")
        server = insert_server(app, data, allocation, egg, env)
        if app.faults.wings_down:  # step 6 fails: force-delete, return the daemon error
            remove_server(app.state, server)
            raise daemon_unreachable()
        body = ctx.tx.server(server)
    app.on_mutation()
    return json_response(201, body)


def insert_server(
    app: PanelApp, data: dict[str, Any], allocation: Record, egg: Record, env: dict[str, Any]
) -> Record:
    st = app.state
    now = app.clock()
    while True:
        uid = st.new_uuid()
        if all(s["uuid"][:8] != uid[:8] for s in st.servers.values()):
            break
    limits = data["limits"]
    fl = data["feature_limits"]
    server: Record = {
        "id": st.next_id("servers"),
        "external_id": data.get("external_id"),
        "uuid": uid,
        "name": data["name"],
        "description": data.get("description") or "",
        "status": "installing",
        "owner_id": as_int(data["user"]),
        "node_id": allocation["node_id"],
        "allocation_id": allocation["id"],
        "nest_id": egg["nest_id"],
        "egg_id": egg["id"],
        "memory": as_num(limits["memory"]),
        "swap": as_num(limits["swap"]),
        "disk": as_num(limits["disk"]),
        "io": as_num(limits["io"]),
        "cpu": as_num(limits["cpu"]),
        "threads": limits.get("threads"),
        "oom_disabled": as_bool(data.get("oom_disabled", True)),
        "database_limit": as_int(fl["databases"]) if fl.get("databases") is not None else 0,
        "allocation_limit": as_int(fl["allocations"]) if fl.get("allocations") is not None else 0,
        "backup_limit": as_int(fl["backups"]) if fl.get("backups") is not None else 0,
        "startup": data["startup"],
        "image": data["docker_image"],
        "skip_scripts": as_bool(data.get("skip_scripts", False)),
        "start_on_completion": as_bool(data.get("start_on_completion", False)),
        "env": env,
        "install_pending": "install",
        "install_started_at": now,
        "power": "offline",
        "power_pending": None,
        "started_at": None,
        "created_at": now,
        "updated_at": now,
    }
    st.servers[server["id"]] = server
    allocation["server_id"] = server["id"]
    # storeAssignedAllocations(): ``Allocation::whereIn('id', [default, ...additional])
    # ->update(['server_id' => ...])``, with or without ``deploy``. With ``deploy`` the request
    # does not validate allocation.additional at all, so any existing id is taken, even one on
    # another node or held by another server (MySQL casts "7" to 7 in the IN list).
    additional = (data.get("allocation") or {}).get("additional")
    if isinstance(additional, dict):
        additional = list(additional.values())
    for aid in additional if isinstance(additional, list) else []:
        if isinstance(aid, bool) or not rulelib.filter_validate_int(aid):
            continue
        extra = st.allocations.get(as_int(aid))
        if extra is not None:
            extra["server_id"] = server["id"]
    return server


def insert_phantom(app: PanelApp, allocation: Record, egg: Record) -> None:
    insert_server(
        app,
        {
            "name": "phantom race winner",
            "user": 1 if 1 in app.state.users else next(iter(app.state.users)),
            "limits": {"memory": 0, "swap": 0, "disk": 0, "io": 500, "cpu": 0},
            "feature_limits": {"databases": 0, "backups": 0},
            "startup": egg["startup"],
            "docker_image": next(iter((egg["docker_images"] or {"": ""}).values())),
        },
        allocation,
        egg,
        {v["env_variable"]: v["default_value"] for v in egg["variables"]},
    )
