"""Fractal-style transformers: the JSON shapes of the application and client APIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .state import Record, State, iso, raw_ts

Include = dict[str, "Include"]
NULL_RESOURCE: dict[str, Any] = {"object": "null_resource", "attributes": None}


def parse_includes(raw: Any) -> Include:
    """Includes as pterodactyl/panel v1.11.8
    app/Http/Controllers/Api/Application/ApplicationApiController.php reads them: a string is
    split on commas, an array (``include[]=``) is taken item by item (not split); each name is
    trimmed and empty ones dropped. league/fractal 0.20.1 Manager::parseIncludes then drops a
    ``:modifier`` suffix and keeps two levels (``limitRecursion(2)``); names inside a dotted
    path are not trimmed, so ``servers. x`` asks for an include called `` x``."""
    names: list[str] = []
    if isinstance(raw, str):
        names = raw.split(",")
    elif isinstance(raw, dict):
        names = [v for v in raw.values() if isinstance(v, str)]
    elif isinstance(raw, list):
        names = [item for item in raw if isinstance(item, str)]
    tree: Include = {}
    for name in names:
        name = name.strip()
        if not name:
            continue
        name = name.split(":", 1)[0]
        node = tree
        for part in name.split(".")[:2]:
            node = node.setdefault(part, {})
    return tree


class Transformer:
    """Renders records; ``can_read(resource)`` decides if an include is allowed."""

    def __init__(self, state: State, can_read: Callable[[str], bool]) -> None:
        self.state = state
        self.can_read = can_read

    # -------------------------------------------------------------- helpers
    @staticmethod
    def item(obj: str, attributes: dict[str, Any]) -> dict[str, Any]:
        return {"object": obj, "attributes": attributes}

    @staticmethod
    def collection(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"object": "list", "data": items}

    def _relations(
        self,
        attrs: dict[str, Any],
        inc: Include,
        available: dict[str, tuple[str | None, Callable[[Include], dict[str, Any]]]],
    ) -> dict[str, Any]:
        rel: dict[str, Any] = {}
        for name, sub in inc.items():
            if name not in available:
                continue
            resource, render = available[name]
            if resource is not None and not self.can_read(resource):
                rel[name] = NULL_RESOURCE
            else:
                rel[name] = render(sub)
        if rel:
            attrs["relationships"] = rel
        return attrs

    # -------------------------------------------------------------- users
    def user(self, u: Record, inc: Include | None = None) -> dict[str, Any]:
        attrs = {
            "id": u["id"],
            "external_id": u["external_id"],
            "uuid": u["uuid"],
            "username": u["username"],
            "email": u["email"],
            "first_name": u["name_first"],
            "last_name": u["name_last"],
            "language": u["language"],
            "root_admin": u["root_admin"],
            "2fa": bool(u["use_totp"]),
            "created_at": iso(u["created_at"]),
            "updated_at": iso(u["updated_at"]),
        }
        servers = [s for s in self._servers() if s["owner_id"] == u["id"]]
        self._relations(
            attrs,
            inc or {},
            {
                "servers": (
                    "servers",
                    lambda i: self.collection([self.server(s, i) for s in servers]),
                )
            },
        )
        return self.item("user", attrs)

    def _servers(self) -> list[Record]:
        return sorted(self.state.servers.values(), key=lambda s: s["id"])

    # -------------------------------------------------------------- locations
    def location(self, loc: Record, inc: Include | None = None) -> dict[str, Any]:
        attrs = {
            "id": loc["id"],
            "short": loc["short"],
            "long": loc["long"],
            "updated_at": iso(loc["updated_at"]),
            "created_at": iso(loc["created_at"]),
        }
        nodes = [
            n
            for n in sorted(self.state.nodes.values(), key=lambda n: n["id"])
            if n["location_id"] == loc["id"]
        ]
        node_ids = {n["id"] for n in nodes}
        servers = [s for s in self._servers() if s["node_id"] in node_ids]
        self._relations(
            attrs,
            inc or {},
            {
                "nodes": ("nodes", lambda i: self.collection([self.node(n, i) for n in nodes])),
                "servers": (
                    "servers",
                    lambda i: self.collection([self.server(s, i) for s in servers]),
                ),
            },
        )
        return self.item("location", attrs)

    # -------------------------------------------------------------- nodes
    def node(
        self, n: Record, inc: Include | None = None, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        memory, disk = self.state.node_usage(n["id"])
        attrs = {
            "id": n["id"],
            "uuid": n["uuid"],
            "public": n["public"],
            "name": n["name"],
            "description": n["description"],
            "location_id": n["location_id"],
            "fqdn": n["fqdn"],
            "scheme": n["scheme"],
            "behind_proxy": n["behind_proxy"],
            "maintenance_mode": n["maintenance_mode"],
            "memory": n["memory"],
            "memory_overallocate": n["memory_overallocate"],
            "disk": n["disk"],
            "disk_overallocate": n["disk_overallocate"],
            "upload_size": n["upload_size"],
            "daemon_listen": n["daemon_listen"],
            "daemon_sftp": n["daemon_sftp"],
            "daemon_base": n["daemon_base"],
            "created_at": iso(n["created_at"]),
            "updated_at": iso(n["updated_at"]),
            **(extra or {}),
            "allocated_resources": {"memory": memory, "disk": disk},
        }
        allocs = sorted(
            (a for a in self.state.allocations.values() if a["node_id"] == n["id"]),
            key=lambda a: a["id"],
        )
        servers = [s for s in self._servers() if s["node_id"] == n["id"]]
        loc = self.state.locations.get(n["location_id"])
        self._relations(
            attrs,
            inc or {},
            {
                "allocations": (
                    "allocations",
                    lambda i: self.collection([self.allocation(a, i) for a in allocs]),
                ),
                "location": (
                    "locations",
                    lambda i: self.location(loc, i) if loc else NULL_RESOURCE,
                ),
                "servers": (
                    "servers",
                    lambda i: self.collection([self.server(s, i) for s in servers]),
                ),
            },
        )
        return self.item("node", attrs)

    # -------------------------------------------------------------- allocations
    def allocation(self, a: Record, inc: Include | None = None) -> dict[str, Any]:
        attrs = {
            "id": a["id"],
            "ip": a["ip"],
            "alias": a["ip_alias"],
            "port": a["port"],
            "notes": a["notes"],
            "assigned": a["server_id"] is not None,
        }
        node = self.state.nodes.get(a["node_id"])
        server = self.state.servers.get(a["server_id"]) if a["server_id"] else None
        self._relations(
            attrs,
            inc or {},
            {
                "node": ("nodes", lambda i: self.node(node, i) if node else NULL_RESOURCE),
                "server": (
                    "servers",
                    lambda i: self.server(server, i) if server else NULL_RESOURCE,
                ),
            },
        )
        return self.item("allocation", attrs)

    # -------------------------------------------------------------- nests / eggs
    def nest(self, n: Record, inc: Include | None = None) -> dict[str, Any]:
        attrs = {
            "id": n["id"],
            "uuid": n["uuid"],
            "author": n["author"],
            "name": n["name"],
            "description": n["description"],
            "created_at": iso(n["created_at"]),
            "updated_at": iso(n["updated_at"]),
        }
        eggs = [
            e
            for e in sorted(self.state.eggs.values(), key=lambda e: e["id"])
            if e["nest_id"] == n["id"]
        ]
        servers = [s for s in self._servers() if s["nest_id"] == n["id"]]
        self._relations(
            attrs,
            inc or {},
            {
                "eggs": ("eggs", lambda i: self.collection([self.egg(e, i) for e in eggs])),
                "servers": (
                    "servers",
                    lambda i: self.collection([self.server(s, i) for s in servers]),
                ),
            },
        )
        return self.item("nest", attrs)

    @staticmethod
    def _decode(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def egg(self, e: Record, inc: Include | None = None) -> dict[str, Any]:
        images = e["docker_images"] or {}
        attrs = {
            "id": e["id"],
            "uuid": e["uuid"],
            "name": e["name"],
            "nest": e["nest_id"],
            "author": e["author"],
            "description": e["description"],
            "docker_image": next(iter(images.values()), ""),
            "docker_images": images,
            "config": {
                "files": self._decode(e["config_files"]),
                "startup": self._decode(e["config_startup"]),
                "stop": e["config_stop"],
                "logs": self._decode(e["config_logs"]),
                "file_denylist": e["file_denylist"],
                "extends": e["config_from"],
            },
            "startup": e["startup"],
            "script": {
                "privileged": e["script_privileged"],
                "install": e["script_install"],
                "entry": e["script_entry"],
                "container": e["script_container"],
                "extends": e["copy_script_from"],
            },
            "created_at": iso(e["created_at"]),
            "updated_at": iso(e["updated_at"]),
        }
        nest = self.state.nests.get(e["nest_id"])
        servers = [s for s in self._servers() if s["egg_id"] == e["id"]]
        parent_cfg = self.state.eggs.get(e["config_from"]) if e["config_from"] else None
        parent_script = (
            self.state.eggs.get(e["copy_script_from"]) if e["copy_script_from"] else None
        )
        self._relations(
            attrs,
            inc or {},
            {
                "nest": ("nests", lambda i: self.nest(nest, i) if nest else NULL_RESOURCE),
                "servers": (
                    "servers",
                    lambda i: self.collection([self.server(s, i) for s in servers]),
                ),
                "variables": (
                    "eggs",
                    lambda i: self.collection([self.egg_variable(v) for v in e["variables"]]),
                ),
                "config": (
                    "eggs",
                    lambda i: self.egg(parent_cfg, i) if parent_cfg else NULL_RESOURCE,
                ),
                "script": (
                    "eggs",
                    lambda i: self.egg(parent_script, i) if parent_script else NULL_RESOURCE,
                ),
            },
        )
        return self.item("egg", attrs)

    @staticmethod
    def _variable_attrs(v: Record) -> dict[str, Any]:
        return {
            "id": v["id"],
            "egg_id": v["egg_id"],
            "name": v["name"],
            "description": v["description"],
            "env_variable": v["env_variable"],
            "default_value": v["default_value"],
            "user_viewable": v["user_viewable"],
            "user_editable": v["user_editable"],
            "rules": v["rules"],
            "created_at": raw_ts(v["created_at"]),
            "updated_at": raw_ts(v["updated_at"]),
        }

    def egg_variable(self, v: Record) -> dict[str, Any]:
        return self.item("egg_variable", self._variable_attrs(v))

    # -------------------------------------------------------------- servers
    def environment(self, s: Record) -> dict[str, Any]:
        env: dict[str, Any] = {}
        for var in self.state.egg_variables(s["egg_id"]):
            key = var["env_variable"]
            env[key] = s["env"][key] if key in s["env"] else var["default_value"]
        node = self.state.nodes.get(s["node_id"])
        loc = self.state.locations.get(node["location_id"]) if node else None
        env.update(
            {
                "STARTUP": s["startup"],
                "P_SERVER_LOCATION": loc["short"] if loc else None,
                "P_SERVER_UUID": s["uuid"],
                "P_SERVER_ALLOCATION_LIMIT": s["allocation_limit"],
            }
        )
        return env

    def server(self, s: Record, inc: Include | None = None) -> dict[str, Any]:
        attrs = {
            "id": s["id"],
            "external_id": s["external_id"],
            "uuid": s["uuid"],
            "identifier": s["uuid"][:8],
            "name": s["name"],
            "description": s["description"],
            "status": s["status"],
            "suspended": s["status"] == "suspended",
            "limits": {
                "memory": s["memory"],
                "swap": s["swap"],
                "disk": s["disk"],
                "io": s["io"],
                "cpu": s["cpu"],
                "threads": s["threads"],
                "oom_disabled": s["oom_disabled"],
            },
            "feature_limits": {
                "databases": s["database_limit"],
                "allocations": s["allocation_limit"],
                "backups": s["backup_limit"],
            },
            "user": s["owner_id"],
            "node": s["node_id"],
            "allocation": s["allocation_id"],
            "nest": s["nest_id"],
            "egg": s["egg_id"],
            "container": {
                "startup_command": s["startup"],
                "image": s["image"],
                "installed": 0 if s["status"] in ("installing", "install_failed") else 1,
                "environment": self.environment(s),
            },
            "updated_at": iso(s["updated_at"]),
            "created_at": iso(s["created_at"]),
        }
        st = self.state
        allocs = sorted(st.server_allocations(s["id"]), key=lambda a: a["id"])
        owner = st.users.get(s["owner_id"])
        nest = st.nests.get(s["nest_id"])
        egg = st.eggs.get(s["egg_id"])
        node = st.nodes.get(s["node_id"])
        loc = st.locations.get(node["location_id"]) if node else None
        self._relations(
            attrs,
            inc or {},
            {
                "allocations": (
                    "allocations",
                    lambda i: self.collection([self.allocation(a, i) for a in allocs]),
                ),
                "user": ("users", lambda i: self.user(owner, i) if owner else NULL_RESOURCE),
                "subusers": ("users", lambda i: self.collection([])),
                "nest": ("nests", lambda i: self.nest(nest, i) if nest else NULL_RESOURCE),
                "egg": ("eggs", lambda i: self.egg(egg, i) if egg else NULL_RESOURCE),
                "variables": ("servers", lambda i: self.collection(self.server_variables(s))),
                "location": (
                    "locations",
                    lambda i: self.location(loc, i) if loc else NULL_RESOURCE,
                ),
                "node": ("nodes", lambda i: self.node(node, i) if node else NULL_RESOURCE),
                "databases": ("server_databases", lambda i: self.collection([])),
            },
        )
        return self.item("server", attrs)

    def server_variables(self, s: Record) -> list[dict[str, Any]]:
        out = []
        for var in self.state.egg_variables(s["egg_id"]):
            attrs = self._variable_attrs(var)
            attrs["server_value"] = s["env"].get(var["env_variable"])
            out.append(self.item("server_variable", attrs))
        return out

    # -------------------------------------------------------------- client API
    def client_server(self, s: Record, user: Record) -> dict[str, Any]:
        st = self.state
        node = st.nodes[s["node_id"]]
        egg = st.eggs.get(s["egg_id"])
        # app/Services/Servers/StartupCommandService.php: str_replace() of SERVER_MEMORY,
        # SERVER_IP, SERVER_PORT, then each egg variable in order ("[hidden]" when the variable is
        # not user-viewable). Nothing else is replaced ({{server.build.default.port}} is Wings').
        default = st.allocations.get(s["allocation_id"])
        replacements: list[tuple[str, str]] = [
            ("SERVER_MEMORY", str(s["memory"])),
            ("SERVER_IP", default["ip"] if default else ""),
            ("SERVER_PORT", str(default["port"]) if default else ""),
        ]
        for var in st.egg_variables(s["egg_id"]):
            key = var["env_variable"]
            value = s["env"][key] if key in s["env"] else var["default_value"]
            replacements.append((key, str(value) if var["user_viewable"] else "[hidden]"))
        invocation = s["startup"]
        for key, value in replacements:
            invocation = invocation.replace("{{" + key + "}}", value)
        allocs = sorted(st.server_allocations(s["id"]), key=lambda a: a["id"])
        variables = [
            self.item(
                "egg_variable",
                {
                    "name": v["name"],
                    "description": v["description"],
                    "env_variable": v["env_variable"],
                    "default_value": v["default_value"],
                    "server_value": s["env"].get(v["env_variable"]),
                    "is_editable": v["user_editable"],
                    "rules": v["rules"],
                },
            )
            for v in st.egg_variables(s["egg_id"])
            if v["user_viewable"]
        ]
        attrs = {
            "server_owner": s["owner_id"] == user["id"],
            "identifier": s["uuid"][:8],
            "internal_id": s["id"],
            "uuid": s["uuid"],
            "name": s["name"],
            "node": node["name"],
            "is_node_under_maintenance": node["maintenance_mode"],
            "sftp_details": {"ip": node["fqdn"], "port": node["daemon_sftp"]},
            "description": s["description"],
            "limits": {
                "memory": s["memory"],
                "swap": s["swap"],
                "disk": s["disk"],
                "io": s["io"],
                "cpu": s["cpu"],
                "threads": s["threads"],
                "oom_disabled": s["oom_disabled"],
            },
            "invocation": invocation,
            "docker_image": s["image"],
            "egg_features": egg["features"] if egg else None,
            "feature_limits": {
                "databases": s["database_limit"],
                "allocations": s["allocation_limit"],
                "backups": s["backup_limit"],
            },
            "status": s["status"],
            "is_suspended": s["status"] == "suspended",
            "is_installing": s["status"] in ("installing", "install_failed"),
            "is_transferring": False,
            "relationships": {
                "allocations": self.collection(
                    [
                        self.item(
                            "allocation",
                            {
                                "id": a["id"],
                                "ip": a["ip"],
                                "ip_alias": a["ip_alias"],
                                "port": a["port"],
                                "notes": a["notes"],
                                "is_default": a["id"] == s["allocation_id"],
                            },
                        )
                        for a in allocs
                    ]
                ),
                "variables": self.collection(variables),
            },
        }
        return attrs
