"""Wings' side of ports: a game binds the ports its startup variables name, and Wings only
publishes the server's allocations (pterodactyl/wings environment/allocations.go
``Allocations.Bindings`` turns the server's ``allocations.mappings`` into the container's
port bindings, used by environment/docker/container.go at create; the panel sends every
allocation of the server, pterodactyl/panel v1.11.8
app/Services/Servers/ServerConfigurationStructureService.php ``allocations``). A server whose
port variable names a port it does not own cannot serve on it: the sandbox models that as a
start that fails (the server goes back to offline with a reason), which is what a game that
refuses to come up without its RCON or query port does on a real node.

Which variables are ports: the name says PORT, or the startup passes the variable to
something named port (``filetransfer_port={{FILE_TRANSFER}}``). SERVER_PORT is the panel's own
(the primary allocation) and always matches."""

from __future__ import annotations

import re

from .state import Record, State


def port_variables(startup: str, variables: list[Record]) -> list[str]:
    names = []
    for var in variables:
        name = str(var.get("env_variable") or "")
        passed = re.search(
            r"port\w*[=\s:]+\{\{" + re.escape(name) + r"\}\}", startup or "", flags=re.IGNORECASE
        )
        if name and name != "SERVER_PORT" and ("PORT" in name.upper() or passed):
            names.append(name)
    return names


def port_mismatches(state: State, server: Record) -> list[str]:
    """Why the server cannot start for its ports ([] if every port variable names one of its
    allocations, on the primary's IP)."""
    owned = state.server_allocations(server["id"])
    primary = state.allocations.get(server["allocation_id"])
    ip = primary["ip"] if primary else None
    ports = {a["port"] for a in owned if a["ip"] == ip}
    env = server.get("env") or {}
    problems = []
    for name in port_variables(server.get("startup") or "", state.egg_variables(server["egg_id"])):
        value = str(env.get(name) or "").strip()
        if not value.isdigit():
            continue  # not a port number: the game falls back to its own default
        if int(value) not in ports:
            problems.append(f"{name}={value} is not an allocation of this server")
    return problems
