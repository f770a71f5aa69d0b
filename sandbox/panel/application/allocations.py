"""Allocations: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Nodes/AllocationController.php; creation through
app/Services/Allocations/AssignmentService.php, deletion through
app/Services/Allocations/AllocationDeletionService.php."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

from .. import rules as rulelib
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


_PORT_RANGE = re.compile(r"^(\d{4,5})-(\d{4,5})$", re.ASCII)  # AssignmentService::PORT_RANGE_REGEX


def _is_digit(value: Any) -> bool:
    """pterodactyl/panel v1.11.8 app/helpers.php is_digit(): ctype_digit(strval($value))."""
    text = php_str(value)
    return not isinstance(value, bool) and text != "" and text.isascii() and text.isdigit()


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """s1lentium/iptools v1.2.0 src/IP.php parse(): 0x... hex, 0b... binary, a number is a long,
    anything else must pass FILTER_VALIDATE_IP."""
    try:
        if text.startswith("0x"):
            raw = bytes.fromhex(text[2:])
            if len(raw) in (4, 16):
                return ipaddress.ip_address(raw)
        elif text.startswith("0b"):
            bits = text[2:]
            if len(bits) in (32, 128) and set(bits) <= {"0", "1"}:
                return ipaddress.ip_address(int(bits, 2).to_bytes(len(bits) // 8, "big"))
        elif rulelib.is_numeric(text):
            return ipaddress.IPv4Address(int(float(text)) % 2**32)
        else:
            return ipaddress.ip_address(text)
    except ValueError:
        pass
    raise ValueError("Invalid IP address format")


def _parse_network(text: str) -> list[str]:
    """s1lentium/iptools v1.2.0 src/Network.php parse() and its iterator: every address from the
    network address to the broadcast address, both included."""
    m = re.match(r"^(.+?)/(\d+)$", text, re.DOTALL)
    if m:
        ip = _parse_ip(m.group(1))
        prefix = int(m.group(2))
        if prefix > ip.max_prefixlen:
            raise ValueError("Invalid prefix length")
        net = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    elif text.find(" ") > 0:
        ip_text, mask = text.split(" ", 1)
        ip = _parse_ip(ip_text)
        net = ipaddress.ip_network(f"{ip}/{_parse_ip(mask)}", strict=False)
    else:
        net = ipaddress.ip_network(_parse_ip(text))
    return [str(a) for a in net]


def create_allocations(ctx: Ctx) -> Response:
    """StoreAllocationRequest, then pterodactyl/panel v1.11.8
    app/Services/Allocations/AssignmentService.php handle(): mask digits in 27..32 (the message
    still says /25, as the panel's resources/lang/en/exceptions.php does), the address through
    gethostbyname() and IPTools, each port or ``NNNN-NNNNN`` range (a PHP range(), so it may run
    downwards) checked in turn; duplicates are skipped (insertIgnore); one transaction."""
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
    parts = ip.split("/")
    if len(parts) != 1:
        mask = parts[1]
        if not _is_digit(mask) or int(mask) > 32 or int(mask) < 27:
            raise display(
                "CIDR notation only allows masks between /25 and /32.", "CidrOutOfRangeException"
            )
    underlying = ip
    try:
        underlying = socket.gethostbyname(ip)  # returns the input unchanged when it cannot
    except (OSError, UnicodeError, ValueError):
        underlying = ip
    try:
        addresses = _parse_network(underlying)
    except ValueError as exc:
        raise display(
            f"Could not parse provided allocation IP address ({underlying}): {exc}"
        ) from None
    specs = list(data["ports"].values()) if isinstance(data["ports"], dict) else data["ports"]
    rows: list[tuple[str, int]] = []
    for addr in addresses:
        for spec in specs:
            m = _PORT_RANGE.match(spec)
            if not _is_digit(spec) and not m:
                raise display(
                    f"The mapping provided for {spec} was invalid and could not be processed.",
                    "InvalidPortMappingException",
                )
            if m:
                low, high = int(m.group(1)), int(m.group(2))
                block = list(range(low, high + 1) if low <= high else range(low, high - 1, -1))
                if len(block) > 1000:
                    raise display(
                        "Adding more than 1000 ports in a single range at once is not supported.",
                        "TooManyPortsInRangeException",
                    )
                if low <= 1024 or high > 65535:
                    raise _port_out_of_range()
                rows.extend((addr, port) for port in block)
            else:
                if int(spec) <= 1024 or int(spec) > 65535:
                    raise _port_out_of_range()
                rows.append((addr, int(spec)))
    existing = {
        (a["ip"], a["port"]) for a in app.state.allocations.values() if a["node_id"] == node["id"]
    }
    for addr, port in rows:
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


def _port_out_of_range() -> ApiError:
    return display(
        "Ports in an allocation must be greater than 1024 and less than or equal to 65535.",
        "PortOutOfRangeException",
    )


def delete_allocation(ctx: Ctx) -> Response:
    app = ctx.app
    alloc = ctx.models["allocation"]
    if alloc["server_id"] is not None:
        # app/Services/Allocations/AllocationDeletionService.php:
        # trans('exceptions.allocations.server_using').
        raise display(
            "A server is currently assigned to this allocation. An allocation can only be "
            "deleted if no server is currently assigned.",
            "ServerUsingAllocationException",
        )
    del app.state.allocations[alloc["id"]]
    return json_response(204, None)
