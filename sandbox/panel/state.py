"""In-memory state of the panel sandbox, seed loading and JSON persistence."""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import threading
import unicodedata
import uuid as uuidlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
EGGS_DIR = PACKAGE_DIR / "eggs"
DEMO_SEED = PACKAGE_DIR / "seed" / "demo.json"

KEY_RE = re.compile(r"^(ptla|ptlc)_[A-Za-z0-9]{11}[A-Za-z0-9]{32}$")
ALL_PERMISSIONS = (
    "r_servers",
    "r_nodes",
    "r_allocations",
    "r_users",
    "r_locations",
    "r_nests",
    "r_eggs",
    "r_database_hosts",
    "r_server_databases",
)

Record = dict[str, Any]


def iso(ts: float) -> str:
    """Transformer timestamp format, e.g. ``2024-10-24T18:04:30+00:00``."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def raw_ts(ts: float) -> str:
    """Raw model dump format, e.g. ``2024-10-24T18:04:30.000000Z``."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def collate(value: Any) -> str:
    """A comparison key for MySQL/MariaDB ``utf8mb4_unicode_ci``, the panel's collation
    (pterodactyl/panel v1.11.8 config/database.php ``'collation' => 'utf8mb4_unicode_ci'``).

    Under it ``WHERE external_id = ?`` and ``unique:`` rules ignore letter case, accents and
    trailing spaces (a PAD SPACE collation): ``Order-1`` = ``order-1`` = ``ORDER-1 ``, and
    ``Straße`` = ``strasse``. Case folding plus dropping combining marks approximates the UCA
    4.0.0 weights the collation uses; exotic ties (e.g. ignorable characters) are not modelled.
    """
    text = unicodedata.normalize("NFKD", str(value).rstrip(" ").casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def validate_key(key: str, prefix: str) -> str:
    if not isinstance(key, str) or not KEY_RE.match(key) or not key.startswith(prefix):
        raise ValueError(
            f"API key must be 48 characters: {prefix!r} + 11 identifier characters + 32 "
            "secret characters (letters and digits)"
        )
    return key


def expand_ports(spec: str) -> list[int]:
    low, _, high = str(spec).partition("-")
    start = int(low)
    end = int(high) if high else start
    return list(range(start, end + 1))


class State:
    """All panel rows, as plain dicts keyed by integer id.

    Mutate only while holding ``lock``. Helpers used by tests: ``add_user``, ``add_api_key``,
    ``complete_installs``, ``server_by_external_id``.
    """

    TABLES = ("users", "locations", "nodes", "allocations", "nests", "eggs", "servers")

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[int, Record] = {}
        self.locations: dict[int, Record] = {}
        self.nodes: dict[int, Record] = {}
        self.allocations: dict[int, Record] = {}
        self.nests: dict[int, Record] = {}
        self.eggs: dict[int, Record] = {}
        self.servers: dict[int, Record] = {}
        self.api_keys: dict[str, Record] = {}
        self.next_ids: dict[str, int] = {t: 1 for t in (*self.TABLES, "egg_variables")}
        self.panel_url: str | None = None

    # ------------------------------------------------------------------ ids and helpers
    def next_id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def _bump(self, table: str, used: int) -> None:
        self.next_ids[table] = max(self.next_ids[table], used + 1)

    def new_uuid(self) -> str:
        return str(uuidlib.uuid4())

    def egg_variables(self, egg_id: int) -> list[Record]:
        egg = self.eggs.get(egg_id)
        return list(egg["variables"]) if egg else []

    def server_allocations(self, server_id: int) -> list[Record]:
        return [a for a in self.allocations.values() if a["server_id"] == server_id]

    def server_by_external_id(self, external_id: str) -> Record | None:
        """``Server::query()->where('external_id', $id)->firstOrFail()`` under the panel's
        collation (pterodactyl/panel v1.11.8
        app/Http/Controllers/Api/Application/Servers/ExternalServerController.php)."""
        wanted = collate(external_id)
        for server in sorted(self.servers.values(), key=lambda s: s["id"]):
            if server["external_id"] is not None and collate(server["external_id"]) == wanted:
                return server
        return None

    def user_by_external_id(self, external_id: str) -> Record | None:
        """pterodactyl/panel v1.11.8
        app/Http/Controllers/Api/Application/Users/ExternalUserController.php, same collation."""
        wanted = collate(external_id)
        for user in sorted(self.users.values(), key=lambda u: u["id"]):
            if user["external_id"] is not None and collate(user["external_id"]) == wanted:
                return user
        return None

    def node_usage(self, node_id: int) -> tuple[int, int]:
        memory = disk = 0
        for server in self.servers.values():
            if server["node_id"] == node_id:
                memory += int(float(server["memory"]))
                disk += int(float(server["disk"]))
        return memory, disk

    # ------------------------------------------------------------------ test helpers
    def add_user(
        self,
        username: str,
        email: str,
        *,
        first_name: str = "Test",
        last_name: str = "User",
        root_admin: bool = False,
        external_id: str | None = None,
        two_factor: bool = False,
    ) -> Record:
        with self.lock:
            now = self.clock()
            user: Record = {
                "id": self.next_id("users"),
                "external_id": external_id,
                "uuid": self.new_uuid(),
                "username": username.lower(),
                "email": email,
                "name_first": first_name,
                "name_last": last_name,
                "language": "en",
                "root_admin": root_admin,
                "use_totp": two_factor,
                "created_at": now,
                "updated_at": now,
            }
            self.users[user["id"]] = user
            return user

    def add_api_key(
        self,
        user_id: int,
        key: str,
        *,
        kind: str = "application",
        permissions: dict[str, int] | None = None,
        allowed_ips: list[str] | None = None,
        expires_at: float | None = None,
    ) -> Record:
        validate_key(key, "ptla_" if kind == "application" else "ptlc_")
        perms = {p: 3 for p in ALL_PERMISSIONS}
        if permissions:
            perms.update(permissions)
        record: Record = {
            "identifier": key[:16],
            "secret": key[16:],
            "user_id": user_id,
            "type": kind,
            "permissions": perms if kind == "application" else {},
            "allowed_ips": list(allowed_ips or []),
            "expires_at": expires_at,
        }
        with self.lock:
            self.api_keys[record["identifier"]] = record
        return record

    def complete_installs(self, *, mode: str = "succeed", delay: float = 0.0) -> int:
        """Let Wings report every pending install whose delay elapsed. Returns how many."""
        if mode == "never":
            return 0
        done = 0
        with self.lock:
            now = self.clock()
            for server in self.servers.values():
                pending = server.get("install_pending")
                if not pending or now - server["install_started_at"] < delay:
                    continue
                server["install_pending"] = None
                done += 1
                if server["status"] == "installing":
                    if mode == "fail":
                        server["status"] = (
                            "reinstall_failed" if pending == "reinstall" else "install_failed"
                        )
                    else:
                        server["status"] = None
                        if server.get("start_on_completion"):
                            start_attempt(self, server, now)
        return done

    # ------------------------------------------------------------------ seed / persistence
    @classmethod
    def from_seed(cls, seed: Record, clock: Callable[[], float]) -> State:
        state = cls(clock)
        now = clock()
        state.panel_url = seed.get("panel_url")
        for u in seed.get("users", []):
            user = {
                "id": int(u["id"]),
                "external_id": u.get("external_id"),
                "uuid": u.get("uuid") or state.new_uuid(),
                "username": u["username"].lower(),
                "email": u["email"],
                "name_first": u.get("first_name", ""),
                "name_last": u.get("last_name", ""),
                "language": u.get("language", "en"),
                "root_admin": bool(u.get("root_admin", False)),
                "use_totp": bool(u.get("2fa", False)),
                "created_at": now,
                "updated_at": now,
            }
            state.users[user["id"]] = user
            state._bump("users", user["id"])
        for k in seed.get("api_keys", []):
            kind = k.get("type", "application")
            state.add_api_key(
                int(k["user_id"]),
                k["key"],
                kind=kind,
                permissions=k.get("permissions"),
                allowed_ips=k.get("allowed_ips"),
            )
        for loc in seed.get("locations", []):
            record = {
                "id": int(loc["id"]),
                "short": loc["short"],
                "long": loc.get("long"),
                "created_at": now,
                "updated_at": now,
            }
            state.locations[record["id"]] = record
            state._bump("locations", record["id"])
        for n in seed.get("nodes", []):
            node = {
                "id": int(n["id"]),
                "uuid": n.get("uuid") or state.new_uuid(),
                "public": n.get("public", True),
                "name": n["name"],
                "description": n.get("description"),
                "location_id": int(n["location_id"]),
                "fqdn": n["fqdn"],
                "scheme": n.get("scheme", "https"),
                "behind_proxy": n.get("behind_proxy", False),
                "maintenance_mode": n.get("maintenance_mode", False),
                "memory": int(n["memory"]),
                "memory_overallocate": int(n.get("memory_overallocate", 0)),
                "disk": int(n["disk"]),
                "disk_overallocate": int(n.get("disk_overallocate", 0)),
                "upload_size": int(n.get("upload_size", 100)),
                "daemon_listen": int(n.get("daemon_listen", 8080)),
                "daemon_sftp": int(n.get("daemon_sftp", 2022)),
                "daemon_base": n.get("daemon_base", "/var/lib/pterodactyl/volumes"),
                "created_at": now,
                "updated_at": now,
            }
            state.nodes[node["id"]] = node
            state._bump("nodes", node["id"])
        for group in seed.get("allocations", []):
            for spec in group["ports"]:
                for port in expand_ports(spec):
                    alloc = {
                        "id": state.next_id("allocations"),
                        "node_id": int(group["node_id"]),
                        "ip": group["ip"],
                        "ip_alias": group.get("alias"),
                        "port": port,
                        "notes": None,
                        "server_id": None,
                    }
                    state.allocations[alloc["id"]] = alloc
        for n in seed.get("nests", []):
            nest = {
                "id": int(n["id"]),
                "uuid": n.get("uuid") or state.new_uuid(),
                "author": n.get("author", "support@pterodactyl.io"),
                "name": n["name"],
                "description": n.get("description"),
                "created_at": now,
                "updated_at": now,
            }
            state.nests[nest["id"]] = nest
            state._bump("nests", nest["id"])
        for e in seed.get("eggs", []):
            state._load_egg(e, now)
        for s in seed.get("servers", []):
            state.servers[int(s["id"])] = dict(s)
            state._bump("servers", int(s["id"]))
        return state

    def _load_egg(self, entry: Record, now: float) -> None:
        data = entry
        if "file" in entry:
            with open(EGGS_DIR / entry["file"], encoding="utf-8") as fh:
                data = {**json.load(fh), **entry}
        images = data.get("docker_images")
        if images is None:
            images = {img: img for img in data.get("images", [])}
        config = data.get("config", {})
        scripts = data.get("scripts", {}).get("installation", {})
        egg_id = int(entry["id"])
        variables = []
        for var in data.get("variables", []):
            variables.append(
                {
                    "id": self.next_id("egg_variables"),
                    "egg_id": egg_id,
                    "name": var["name"],
                    "description": var.get("description", ""),
                    "env_variable": var["env_variable"],
                    "default_value": var.get("default_value", "") or "",
                    "user_viewable": bool(var.get("user_viewable", True)),
                    "user_editable": bool(var.get("user_editable", True)),
                    "rules": var.get("rules", ""),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        egg = {
            "id": egg_id,
            "uuid": data.get("uuid") or self.new_uuid(),
            "nest_id": int(entry["nest_id"]),
            "author": data.get("author", ""),
            "name": data["name"],
            "description": data.get("description"),
            "features": data.get("features"),
            "docker_images": images,
            "file_denylist": data.get("file_denylist", []),
            "startup": data.get("startup", ""),
            "config_files": config.get("files"),
            "config_startup": config.get("startup"),
            "config_logs": config.get("logs"),
            "config_stop": config.get("stop"),
            "config_from": data.get("config_from"),
            "script_install": scripts.get("script"),
            "script_entry": scripts.get("entrypoint", "ash"),
            "script_container": scripts.get("container", "alpine:3.4"),
            "script_privileged": True,
            "copy_script_from": data.get("copy_script_from"),
            "variables": variables,
            "created_at": now,
            "updated_at": now,
        }
        self.eggs[egg_id] = egg
        self._bump("eggs", egg_id)

    def to_dict(self) -> Record:
        with self.lock:
            return {
                "format": "givrwrld-panel-sandbox-state/1",
                "panel_url": self.panel_url,
                "next_ids": dict(self.next_ids),
                "api_keys": list(copy.deepcopy(self.api_keys).values()),
                **{t: list(copy.deepcopy(getattr(self, t)).values()) for t in self.TABLES},
            }

    @classmethod
    def from_state_dict(cls, data: Record, clock: Callable[[], float]) -> State:
        state = cls(clock)
        state.panel_url = data.get("panel_url")
        state.next_ids.update({k: int(v) for k, v in data["next_ids"].items()})
        for key in data.get("api_keys", []):
            state.api_keys[key["identifier"]] = key
        for table in cls.TABLES:
            getattr(state, table).update({int(r["id"]): r for r in data.get(table, [])})
        return state

    def save(self, path: str | Path) -> None:
        """Atomic write (temp file + rename)."""
        target = Path(path)
        payload = json.dumps(self.to_dict(), indent=1, sort_keys=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload)
        os.replace(tmp, target)


def start_attempt(state: State, server: Record, now: float) -> bool:
    """Wings starts the server: it runs, unless its port variables name ports it does not own
    (sandbox/panel/ports.py), in which case it stays offline with ``start_error`` saying why.
    True if it runs."""
    from .ports import port_mismatches

    problems = port_mismatches(state, server)
    if problems:
        server["power"] = "offline"
        server["power_pending"] = None
        server["started_at"] = None
        server["start_error"] = "; ".join(problems)
        return False
    server["power"] = "running"
    server["started_at"] = now
    server["start_error"] = None
    return True
