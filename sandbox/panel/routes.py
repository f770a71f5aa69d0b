"""The route table: pterodactyl/panel v1.11.8 routes/api-application.php and
routes/api-client.php (only the routes the sandbox imitates), in the panel's order, so a
path that two routes could match (``/nodes/deployable`` vs ``/nodes/{node}``) resolves the same
way and a 405 lists the methods in the same order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import client_api
from .application import (
    allocations,
    locations,
    nests,
    nodes,
    server_creation,
    server_details,
    server_management,
    server_startup,
    servers,
    users,
)
from .controller import Handler


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    api: str  # "application" | "client"
    resource: str | None  # ACL resource for application routes
    # The handler takes the state lock itself (server create: validation and insert are two
    # steps with a race window between them, as in the panel).
    locks_itself: bool = False


A = "/api/application"
C = "/api/client"

_TABLE: list[tuple[str, str, Handler, str, str | None]] = [
    ("GET", f"{A}/users", users.list_users, "application", "users"),
    ("GET", f"{A}/users/external/{{external_id}}", users.get_user_external, "application", "users"),
    ("GET", f"{A}/users/{{user}}", users.get_user, "application", "users"),
    ("POST", f"{A}/users", users.create_user, "application", "users"),
    ("PATCH", f"{A}/users/{{user}}", users.update_user, "application", "users"),
    ("DELETE", f"{A}/users/{{user}}", users.delete_user, "application", "users"),
    ("GET", f"{A}/locations", locations.list_locations, "application", "locations"),
    ("GET", f"{A}/locations/{{location}}", locations.get_location, "application", "locations"),
    ("POST", f"{A}/locations", locations.create_location, "application", "locations"),
    (
        "PATCH",
        f"{A}/locations/{{location}}",
        locations.update_location,
        "application",
        "locations",
    ),
    (
        "DELETE",
        f"{A}/locations/{{location}}",
        locations.delete_location,
        "application",
        "locations",
    ),
    ("GET", f"{A}/nodes", nodes.list_nodes, "application", "nodes"),
    ("GET", f"{A}/nodes/deployable", nodes.deployable_nodes, "application", "nodes"),
    ("GET", f"{A}/nodes/{{node}}", nodes.get_node, "application", "nodes"),
    ("POST", f"{A}/nodes", nodes.create_node, "application", "nodes"),
    ("PATCH", f"{A}/nodes/{{node}}", nodes.update_node, "application", "nodes"),
    ("DELETE", f"{A}/nodes/{{node}}", nodes.delete_node, "application", "nodes"),
    (
        "GET",
        f"{A}/nodes/{{node}}/allocations",
        allocations.list_allocations,
        "application",
        "allocations",
    ),
    (
        "POST",
        f"{A}/nodes/{{node}}/allocations",
        allocations.create_allocations,
        "application",
        "allocations",
    ),
    (
        "DELETE",
        f"{A}/nodes/{{node}}/allocations/{{allocation}}",
        allocations.delete_allocation,
        "application",
        "allocations",
    ),
    ("GET", f"{A}/nests", nests.list_nests, "application", "nests"),
    ("GET", f"{A}/nests/{{nest}}", nests.get_nest, "application", "nests"),
    ("GET", f"{A}/nests/{{nest}}/eggs", nests.list_eggs, "application", "eggs"),
    ("GET", f"{A}/nests/{{nest}}/eggs/{{egg}}", nests.get_egg, "application", "eggs"),
    ("GET", f"{A}/servers", servers.list_servers, "application", "servers"),
    (
        "GET",
        f"{A}/servers/external/{{external_id}}",
        servers.get_server_external,
        "application",
        "servers",
    ),
    ("GET", f"{A}/servers/{{server}}", servers.get_server, "application", "servers"),
    ("POST", f"{A}/servers", server_creation.create_server, "application", "servers"),
    (
        "PATCH",
        f"{A}/servers/{{server}}/details",
        server_details.update_details,
        "application",
        "servers",
    ),
    (
        "PATCH",
        f"{A}/servers/{{server}}/build",
        server_details.update_build,
        "application",
        "servers",
    ),
    (
        "PATCH",
        f"{A}/servers/{{server}}/startup",
        server_startup.update_startup,
        "application",
        "servers",
    ),
    (
        "POST",
        f"{A}/servers/{{server}}/suspend",
        server_management.suspend,
        "application",
        "servers",
    ),
    (
        "POST",
        f"{A}/servers/{{server}}/unsuspend",
        server_management.unsuspend,
        "application",
        "servers",
    ),
    (
        "POST",
        f"{A}/servers/{{server}}/reinstall",
        server_management.reinstall,
        "application",
        "servers",
    ),
    ("DELETE", f"{A}/servers/{{server}}", servers.delete_server, "application", "servers"),
    (
        "DELETE",
        f"{A}/servers/{{server}}/{{force}}",
        servers.delete_server,
        "application",
        "servers",
    ),
    (
        "GET",
        f"{A}/servers/{{server}}/databases",
        servers.list_databases,
        "application",
        "server_databases",
    ),
    ("GET", f"{C}/servers/{{server}}", client_api.client_view, "client", None),
    ("GET", f"{C}/servers/{{server}}/resources", client_api.client_resources, "client", None),
    ("POST", f"{C}/servers/{{server}}/power", client_api.client_power, "client", None),
]

_SELF_LOCKING = {server_creation.create_server}


def build_routes() -> list[Route]:
    routes = []
    for method, template, handler, api, resource in _TABLE:
        pattern = re.sub(
            r"\{(\w+)\}",
            r"(?P<\1>[^/]+)",
            re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
        )
        routes.append(
            Route(
                method,
                template,
                re.compile(f"^{pattern}/?$"),
                handler,
                api,
                resource,
                locks_itself=handler in _SELF_LOCKING,
            )
        )
    return routes
