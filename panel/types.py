"""Typed views of the panel's JSON. The client never hands raw dicts out.

Each ``*.from_api(attrs)`` takes the ``attributes`` object of the panel's envelope and ignores
fields it does not know, so newer panels that add fields keep working. Missing required fields
raise ``KeyError``/``TypeError``/``ValueError``, which the client turns into
:class:`panel.errors.PanelProtocolError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ClientServerView",
    "DeploySpec",
    "EggVariable",
    "FeatureLimits",
    "PanelAllocation",
    "PanelEgg",
    "PanelLocation",
    "PanelNest",
    "PanelNode",
    "PanelServer",
    "PanelUser",
    "RateLimitState",
    "ServerCreateSpec",
    "ServerLimits",
    "ServerResources",
    "env_value",
]


# --- small coercion helpers -------------------------------------------------------------------


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        return int(float(value)) if "." in value else int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _int_or_none(value: Any) -> int | None:
    return None if value is None else _int(value)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def env_value(value: Any) -> str:
    """Environment values go to the panel as JSON strings (§4.6.6): a number fails ``string``
    rules. ``True``/``False`` become ``"1"``/``"0"`` (Laravel's ``boolean`` accepts those),
    ``None`` becomes ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _relationship_list(attrs: Mapping[str, Any], name: str) -> list[Mapping[str, Any]] | None:
    """``attributes.relationships.<name>.data[*].attributes``; None when not included or when the
    key lacks permission (``null_resource``)."""
    rels = attrs.get("relationships")
    if not isinstance(rels, Mapping):
        return None
    rel = rels.get(name)
    if not isinstance(rel, Mapping) or rel.get("object") != "list":
        return None
    data = rel.get("data") or []
    return [item["attributes"] for item in data if isinstance(item, Mapping)]


# --- resources --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimitState:
    """Last ``X-RateLimit-Limit``/``X-RateLimit-Remaining`` seen; ``observed_at`` is
    ``time.time()`` when they were read."""

    limit: int | None
    remaining: int | None
    observed_at: float


@dataclass(frozen=True)
class PanelUser:
    id: int
    external_id: str | None
    uuid: str
    username: str
    email: str
    first_name: str
    last_name: str
    language: str
    root_admin: bool

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> PanelUser:
        return cls(
            id=_int(a["id"]),
            external_id=_str_or_none(a.get("external_id")),
            uuid=_str(a.get("uuid")),
            username=_str(a["username"]),
            email=_str(a["email"]),
            first_name=_str(a.get("first_name")),
            last_name=_str(a.get("last_name")),
            language=_str(a.get("language")) or "en",
            root_admin=_bool(a.get("root_admin", False)),
        )


@dataclass(frozen=True)
class PanelLocation:
    id: int
    short: str
    long: str | None

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> PanelLocation:
        return cls(id=_int(a["id"]), short=_str(a["short"]), long=_str_or_none(a.get("long")))


@dataclass(frozen=True)
class PanelNode:
    """Memory and disk in MiB; ``*_overallocate`` in percent (-1 means 99 %, not "disabled");
    ``allocated_*`` are the sums of all servers' limits on the node."""

    id: int
    uuid: str
    name: str
    location_id: int
    fqdn: str
    public: bool
    maintenance_mode: bool
    memory: int
    memory_overallocate: int
    disk: int
    disk_overallocate: int
    allocated_memory: int
    allocated_disk: int

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> PanelNode:
        allocated = a.get("allocated_resources") or {}
        return cls(
            id=_int(a["id"]),
            uuid=_str(a.get("uuid")),
            name=_str(a["name"]),
            location_id=_int(a["location_id"]),
            fqdn=_str(a.get("fqdn")),
            public=_bool(a.get("public", True)),
            maintenance_mode=_bool(a.get("maintenance_mode", False)),
            memory=_int(a["memory"]),
            memory_overallocate=_int(a.get("memory_overallocate") or 0),
            disk=_int(a["disk"]),
            disk_overallocate=_int(a.get("disk_overallocate") or 0),
            allocated_memory=_int(allocated.get("memory") or a.get("sum_memory") or 0),
            allocated_disk=_int(allocated.get("disk") or a.get("sum_disk") or 0),
        )


@dataclass(frozen=True)
class PanelAllocation:
    """``node_id`` comes from the request path (the panel does not expose it on the allocation);
    None where it cannot be known (client API). ``is_default`` is only known from the client API
    or when the allocation came with a server (``PanelServer.allocations``)."""

    id: int
    node_id: int | None
    ip: str
    alias: str | None
    port: int
    notes: str | None
    assigned: bool
    is_default: bool = False

    @classmethod
    def from_api(
        cls, a: Mapping[str, Any], *, node_id: int | None, default_id: int | None = None
    ) -> PanelAllocation:
        alloc_id = _int(a["id"])
        alias = a.get("alias", a.get("ip_alias"))
        return cls(
            id=alloc_id,
            node_id=node_id,
            ip=_str(a["ip"]),
            alias=_str_or_none(alias),
            port=_int(a["port"]),
            notes=_str_or_none(a.get("notes")),
            # Client-API allocations carry no `assigned`: they belong to the server by definition.
            assigned=_bool(a.get("assigned", True)),
            is_default=_bool(a.get("is_default", False)) or alloc_id == default_id,
        )

    @property
    def address(self) -> str:
        """``ip:port`` (the alias, when set, is what players usually type)."""
        return f"{self.alias or self.ip}:{self.port}"


@dataclass(frozen=True)
class PanelNest:
    id: int
    uuid: str
    name: str
    author: str
    description: str | None

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> PanelNest:
        return cls(
            id=_int(a["id"]),
            uuid=_str(a.get("uuid")),
            name=_str(a["name"]),
            author=_str(a.get("author")),
            description=_str_or_none(a.get("description")),
        )


@dataclass(frozen=True)
class EggVariable:
    name: str
    description: str
    env_variable: str
    default_value: str
    user_viewable: bool
    user_editable: bool
    rules: str

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> EggVariable:
        return cls(
            name=_str(a.get("name")),
            description=_str(a.get("description")),
            env_variable=_str(a["env_variable"]),
            default_value=_str(a.get("default_value")),
            user_viewable=_bool(a.get("user_viewable", False)),
            user_editable=_bool(a.get("user_editable", False)),
            rules=_str(a.get("rules")),
        )


@dataclass(frozen=True)
class PanelEgg:
    """``docker_images`` maps display label → image; send a *value* as ``docker_image``.
    ``variables`` is empty unless fetched with ``include=variables`` (the client always does)."""

    id: int
    uuid: str
    nest_id: int
    name: str
    description: str | None
    docker_image: str
    docker_images: dict[str, str]
    startup: str
    variables: tuple[EggVariable, ...]

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> PanelEgg:
        raw_images = a.get("docker_images") or {}
        if isinstance(raw_images, Mapping):
            images = {str(k): str(v) for k, v in raw_images.items()}
        else:  # pre-1.8 panels sent a plain list of images
            images = {str(v): str(v) for v in raw_images}
        docker_image = _str(a.get("docker_image")) or next(iter(images.values()), "")
        variables = _relationship_list(a, "variables") or []
        return cls(
            id=_int(a["id"]),
            uuid=_str(a.get("uuid")),
            nest_id=_int(a["nest"]),
            name=_str(a["name"]),
            description=_str_or_none(a.get("description")),
            docker_image=docker_image,
            docker_images=images,
            startup=_str(a.get("startup")),
            variables=tuple(EggVariable.from_api(v) for v in variables),
        )

    def default_environment(self) -> dict[str, str]:
        """Every variable with its default value: the panel does NOT apply defaults for omitted
        variables (§4.6.6), so a create must always send the full map."""
        return {v.env_variable: v.default_value for v in self.variables}


@dataclass(frozen=True)
class ServerLimits:
    """MiB for memory/swap/disk; cpu in percent of one core (0 = unlimited); io 10-1000.
    ``oom_disabled`` is sent top-level (the panel ignores ``limits.oom_disabled``)."""

    memory: int
    swap: int
    disk: int
    io: int
    cpu: int
    threads: str | None = None
    oom_disabled: bool = True

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> ServerLimits:
        return cls(
            memory=_int(a["memory"]),
            swap=_int(a["swap"]),
            disk=_int(a["disk"]),
            io=_int(a["io"]),
            cpu=_int(a["cpu"]),
            threads=_str_or_none(a.get("threads")),
            oom_disabled=_bool(a.get("oom_disabled", True)),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "memory": self.memory,
            "swap": self.swap,
            "disk": self.disk,
            "io": self.io,
            "cpu": self.cpu,
            "threads": self.threads,
        }


@dataclass(frozen=True)
class FeatureLimits:
    """None means unlimited (only possible after a build PATCH with null; create turns null
    into 0)."""

    databases: int | None = 0
    allocations: int | None = 0
    backups: int | None = 0

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> FeatureLimits:
        return cls(
            databases=_int_or_none(a.get("databases")),
            allocations=_int_or_none(a.get("allocations")),
            backups=_int_or_none(a.get("backups")),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "databases": self.databases,
            "allocations": self.allocations,
            "backups": self.backups,
        }


@dataclass(frozen=True)
class PanelServer:
    """``status``: None (installed), ``installing``, ``install_failed``, ``reinstall_failed``,
    ``suspended``, ``restoring_backup``. ``allocations`` is filled only when fetched with
    ``include=allocations`` (server_get / server_get_by_external_id / servers_iter)."""

    id: int
    external_id: str | None
    uuid: str
    identifier: str
    name: str
    description: str | None
    status: str | None
    suspended: bool
    user_id: int
    node_id: int
    allocation_id: int
    nest_id: int
    egg_id: int
    limits: ServerLimits
    feature_limits: FeatureLimits
    environment: dict[str, str]
    allocations: tuple[PanelAllocation, ...] = ()
    docker_image: str = ""
    startup: str = ""

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> PanelServer:
        container = a.get("container") or {}
        node_id = _int(a["node"])
        allocation_id = _int(a["allocation"])
        rel_allocs = _relationship_list(a, "allocations") or []
        env = container.get("environment") or {}
        status = _str_or_none(a.get("status"))
        return cls(
            id=_int(a["id"]),
            external_id=_str_or_none(a.get("external_id")),
            uuid=_str(a["uuid"]),
            identifier=_str(a.get("identifier")) or _str(a["uuid"])[:8],
            name=_str(a["name"]),
            description=_str_or_none(a.get("description")),
            status=status,
            suspended=_bool(a.get("suspended", status == "suspended")),
            user_id=_int(a["user"]),
            node_id=node_id,
            allocation_id=allocation_id,
            nest_id=_int(a["nest"]),
            egg_id=_int(a["egg"]),
            limits=ServerLimits.from_api(a["limits"]),
            feature_limits=FeatureLimits.from_api(a.get("feature_limits") or {}),
            environment={str(k): env_value(v) for k, v in env.items()},
            allocations=tuple(
                PanelAllocation.from_api(x, node_id=node_id, default_id=allocation_id)
                for x in rel_allocs
            ),
            docker_image=_str(container.get("image")),
            startup=_str(container.get("startup_command")),
        )

    @property
    def primary_allocation(self) -> PanelAllocation | None:
        for alloc in self.allocations:
            if alloc.id == self.allocation_id:
                return alloc
        return None

    @property
    def is_installing(self) -> bool:
        return self.status == "installing"


@dataclass(frozen=True)
class DeploySpec:
    """Automatic placement: ``location_ids`` empty = any location; ``port_range`` entries are
    strings like ``"25565"`` or ``"25565-25600"`` (anything else is silently dropped by the
    panel, which then means "any port")."""

    location_ids: tuple[int, ...]
    dedicated_ip: bool = False
    port_range: tuple[str, ...] = ()

    def to_api(self) -> dict[str, Any]:
        return {
            "locations": [int(x) for x in self.location_ids],
            "dedicated_ip": bool(self.dedicated_ip),
            "port_range": [str(p) for p in self.port_range],
        }


@dataclass(frozen=True)
class ServerCreateSpec:
    """Body of ``POST /servers``. Exactly one of ``allocation_id`` / ``deploy`` must be given.
    ``environment`` should be the egg's FULL variable map (see ``PanelEgg.default_environment``)."""

    name: str
    user_id: int
    egg_id: int
    docker_image: str
    startup: str
    environment: dict[str, str]
    limits: ServerLimits
    feature_limits: FeatureLimits
    external_id: str | None
    allocation_id: int | None = None
    additional_allocation_ids: tuple[int, ...] = ()
    deploy: DeploySpec | None = None
    description: str = ""
    start_on_completion: bool = False
    skip_scripts: bool = False

    def __post_init__(self) -> None:
        if (self.allocation_id is None) == (self.deploy is None):
            raise ValueError("ServerCreateSpec needs exactly one of allocation_id or deploy")

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "user": int(self.user_id),
            "egg": int(self.egg_id),
            "docker_image": self.docker_image,
            "startup": self.startup,
            "environment": {str(k): env_value(v) for k, v in self.environment.items()},
            "limits": self.limits.to_api(),
            "feature_limits": self.feature_limits.to_api(),
            "oom_disabled": bool(self.limits.oom_disabled),
            "external_id": None if self.external_id is None else str(self.external_id),
            "description": self.description,
            "start_on_completion": bool(self.start_on_completion),
            "skip_scripts": bool(self.skip_scripts),
        }
        if self.deploy is not None:
            body["deploy"] = self.deploy.to_api()
        else:
            body["allocation"] = {
                "default": int(self.allocation_id or 0),  # not None: see __post_init__
                "additional": [int(x) for x in self.additional_allocation_ids],
            }
        return body


@dataclass(frozen=True)
class ClientServerView:
    """``GET /api/client/servers/{identifier}``. ``internal_id`` is the application-API id."""

    identifier: str
    uuid: str
    internal_id: int
    name: str
    status: str | None
    is_suspended: bool
    is_installing: bool
    allocations: tuple[PanelAllocation, ...]
    is_transferring: bool = False
    node_name: str = ""

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> ClientServerView:
        allocs = _relationship_list(a, "allocations") or []
        return cls(
            identifier=_str(a["identifier"]),
            uuid=_str(a["uuid"]),
            internal_id=_int(a["internal_id"]),
            name=_str(a["name"]),
            status=_str_or_none(a.get("status")),
            is_suspended=_bool(a.get("is_suspended", False)),
            is_installing=_bool(a.get("is_installing", False)),
            allocations=tuple(PanelAllocation.from_api(x, node_id=None) for x in allocs),
            is_transferring=_bool(a.get("is_transferring", False)),
            node_name=_str(a.get("node")),
        )

    @property
    def primary_allocation(self) -> PanelAllocation | None:
        return next((x for x in self.allocations if x.is_default), None)


@dataclass(frozen=True)
class ServerResources:
    """``GET /api/client/servers/{identifier}/resources``. Bytes, cpu in percent of one core,
    uptime in milliseconds. The panel caches this for 20 s per server."""

    current_state: str
    is_suspended: bool
    memory_bytes: int
    cpu_absolute: float
    disk_bytes: int
    network_rx_bytes: int
    network_tx_bytes: int
    uptime_ms: int

    @classmethod
    def from_api(cls, a: Mapping[str, Any]) -> ServerResources:
        r = a.get("resources") or {}
        return cls(
            current_state=_str(a.get("current_state")) or "stopped",
            is_suspended=_bool(a.get("is_suspended", False)),
            memory_bytes=_int(r.get("memory_bytes") or 0),
            cpu_absolute=float(r.get("cpu_absolute") or 0.0),
            disk_bytes=_int(r.get("disk_bytes") or 0),
            network_rx_bytes=_int(r.get("network_rx_bytes") or 0),
            network_tx_bytes=_int(r.get("network_tx_bytes") or 0),
            uptime_ms=_int(r.get("uptime") or 0),
        )
