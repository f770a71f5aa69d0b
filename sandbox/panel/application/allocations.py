"""Allocations: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Nodes/AllocationController.php; creation through
app/Services/Allocations/AssignmentService.php, deletion through
app/Services/Allocations/AllocationDeletionService.php."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

from ..controller import (
    Ctx,
    Validator,
    exact,
    includes,
    paginate,
    partial,
    php_empty,
    php_str,
    query,
)
from ..http import GENERIC_500, ApiError, Response, display, json_response
from ..state import Record


def list_allocations(ctx: Ctx) -> Response:
    app = ctx.app
    node = ctx.models["node"]
    inc = includes(ctx)
    rows = sorted(
        (a for a in app.state.allocations.values() if a["node_id"] == node["id"]),
        key=lambda a: a["id"],
    )

    def server_id(row: Record, value: Any) -> bool:
        # AllocationController::index AllowedFilter::callback('server_id'): empty, a boolean or
        # anything ctype_digit() refuses means "free"; an array hits (string) $value, a PHP
        # warning that Laravel turns into the generic 500.
        if isinstance(value, list):
            raise ApiError(500, "ErrorException", GENERIC_500)
        if php_empty(value) or isinstance(value, bool):
            return row["server_id"] is None
        text = php_str(value)
        if not (text.isascii() and text.isdigit()):
            return row["server_id"] is None
        return row["server_id"] == int(text)

    rows = query(
        ctx,
        rows,
        {
            "ip": exact("ip"),
            "port": exact("port", numeric=True),
            "ip_alias": partial("ip_alias"),
            "server_id": server_id,
        },
        {},
    )
    return json_response(200, paginate(ctx, rows, lambda a: ctx.tx.allocation(a, inc)))


def create_allocations(ctx: Ctx) -> Response:
    app = ctx.app
    node = ctx.models["node"]
    data = ctx.req.input
    v = Validator(data)
    v.check("ip", "required|string")
    v.check("alias", "sometimes|nullable|string|max:191")
    v.check("ports", "required|array")
    v.each("ports", "string")
    v.raise_if_failed()
    ip = data["ip"]
    try:
        net = ipaddress.ip_network(ip, strict=False)
    except ValueError:
        try:
            ips = [socket.gethostbyname(ip)]
        except OSError:
            raise display(
                f"The mapping provided for {ip} was invalid and could not be processed.",
                "DisplayException",
            ) from None
    else:
        if "/" in ip and not (25 <= net.prefixlen <= 32):
            raise display(
                "CIDR notation only allows masks between /25 and /32.",
                "CidrOutOfRangeException",
            )
        ips = [str(a) for a in net] if net.num_addresses > 1 else [str(net.network_address)]
    ports: list[int] = []
    for spec in data["ports"].values() if isinstance(data["ports"], dict) else data["ports"]:
        text = str(spec)
        m = re.fullmatch(r"(\d{4,5})-(\d{4,5})", text)
        if not text.isdigit() and not m:
            raise display(
                f"The mapping provided for {text} was invalid and could not be processed.",
                "InvalidPortMappingException",
            )
        low, high = (int(m.group(1)), int(m.group(2))) if m else (int(text), int(text))
        if m and len(range(low, high + 1)) > 1000:
            raise display(
                "Adding more than 1000 ports in a single range at once is not supported.",
                "TooManyPortsInRangeException",
            )
        for port in range(low, high + 1) if m else (low,):
            if port <= 1024 or port > 65535:
                raise display(
                    "Ports in an allocation must be greater than 1024 and less than or equal "
                    "to 65535.",
                    "PortOutOfRangeException",
                )
        ports.extend(range(low, high + 1))
    existing = {
        (a["ip"], a["port"]) for a in app.state.allocations.values() if a["node_id"] == node["id"]
    }
    for addr in ips:
        for port in ports:
            if (addr, port) in existing:
                continue
            existing.add((addr, port))
            alloc = {
                "id": app.state.next_id("allocations"),
                "node_id": node["id"],
                "ip": addr,
                "ip_alias": data.get("alias"),
                "port": port,
                "notes": None,
                "server_id": None,
            }
            app.state.allocations[alloc["id"]] = alloc
    return json_response(204, None)


def delete_allocation(ctx: Ctx) -> Response:
    app = ctx.app
    alloc = ctx.models["allocation"]
    if alloc["server_id"] is not None:
        raise display(
            "Cannot delete an allocation that is currently assigned to a server.",
            "ServerUsingAllocationException",
        )
    del app.state.allocations[alloc["id"]]
    return json_response(204, None)
