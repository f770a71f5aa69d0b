"""Port templates: which ports a plan's servers take, and which egg variable names each one.

A plan's `port_template` maps egg variables (e.g. RCON_PORT) to one of:

- ``"primary"``: the server's primary allocation (SERVER_PORT) itself;
- ``"+k"`` (k = 1..100): the port k above the primary, on the same IP, as games that insist on
  consecutive ports need (Valheim's game+1, CS's GOTV);
- ``"any"``: any free port on the primary's IP.

Every distinct "+k" and every "any" is one extra allocation of the server: two variables
mapped to the same "+k" share a port (e.g. a TCP and a UDP service on one number). A key that
starts with "#" (e.g. "#raw": "+1") reserves a port the game opens by itself, with no egg
variable to tell it (ARK's raw socket and Valheim's query port are the game port + 1). All ports of
a set are in the plan's port range. The set of a server is picked here, as plain data, so the
checkout (catalog.services) and the stock figure (catalog.selectors) agree on what fits.
docs/ports-and-placement.md, "Port templates".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PRIMARY = "primary"
RESERVED = "#"
ANY = "any"
MAX_OFFSET = 100
_OFFSET = re.compile(r"\+([1-9][0-9]{0,2})")


@dataclass(frozen=True)
class Template:
    """A parsed port template: the extra slots a set needs."""

    variables: dict[str, str]
    """env name -> spec, as stored."""

    @property
    def offsets(self) -> list[int]:
        """Distinct "+k" offsets, ascending."""
        return sorted({int(s[1:]) for s in self.variables.values() if _OFFSET.fullmatch(s)})

    @property
    def any_variables(self) -> list[str]:
        return sorted(name for name, spec in self.variables.items() if spec == ANY)

    @property
    def size(self) -> int:
        """Ports one server takes (primary included)."""
        return 1 + len(self.offsets) + len(self.any_variables)

    def slot_of(self, variable: str) -> str:
        """The slot a variable's port sits in: "primary", "+k" or "any:<name>". The slot is
        what an extra allocation of an order is filed under (billing.OrderPort.slot)."""
        spec = self.variables[variable]
        return f"any:{variable}" if spec == ANY else spec

    @property
    def slots(self) -> list[str]:
        """The extra slots (primary excluded), in a stable order."""
        return [f"+{k}" for k in self.offsets] + [f"any:{n}" for n in self.any_variables]


def template_parse(raw: Any) -> Template:
    """A stored template (assumed valid: Plan.clean checked it); junk reads as empty."""
    if not isinstance(raw, dict):
        return Template({})
    return Template(
        {
            str(k): str(v)
            for k, v in raw.items()
            if isinstance(v, str) and (v in (PRIMARY, ANY) or _offset(v) is not None)
        }
    )


def _offset(spec: str) -> int | None:
    m = _OFFSET.fullmatch(spec)
    if m is None or int(m.group(1)) > MAX_OFFSET:
        return None
    return int(m.group(1))


def port_like_variables(*, variables: Iterable[Mapping[str, Any]], startup: str) -> list[str]:
    """The egg variables that look like ports: the name says PORT (RCON_PORT, QUERY_PORT), or
    the startup command passes it to something named port (Teamspeak's
    ``filetransfer_port={{FILE_TRANSFER}}``, ARK's ``?RCONPort={{RCON_PORT}}``)."""
    names = []
    for var in variables:
        name = str(var.get("env_variable") or "")
        if not name:
            continue
        passed = re.search(
            r"port\w*[=\s:]+\{\{" + re.escape(name) + r"\}\}", startup, flags=re.IGNORECASE
        )
        if ("PORT" in name.upper() and name != "SERVER_PORT") or passed:
            names.append(name)
    return names


def template_problems(
    *, raw: Any, variables: Iterable[Mapping[str, Any]] | None, startup: str = ""
) -> list[str]:
    """Why a template is unusable ([] if fine). `variables`: the egg's (None: egg unknown,
    only the shape is checked)."""
    if raw in (None, "", {}):
        return []
    if not isinstance(raw, dict):
        return ['Map egg variables to "primary", "+k" or "any", e.g. {"RCON_PORT": "+1"}.']
    problems = []
    known = None
    port_like: list[str] = []
    if variables is not None:
        variables = list(variables)
        known = {str(v.get("env_variable")) for v in variables}
        port_like = port_like_variables(variables=variables, startup=startup)
    for name, spec in raw.items():
        if name == "SERVER_PORT":
            problems.append("SERVER_PORT is always the primary allocation; leave it out.")
            continue
        if not isinstance(spec, str) or not (spec in (PRIMARY, ANY) or _offset(spec)):
            problems.append(
                f'{name}: give "primary", "any" or "+k" with k from 1 to {MAX_OFFSET} '
                f"(got {spec!r})."
            )
            continue
        if name.startswith(RESERVED):
            continue
        if known is not None and name not in known:
            problems.append(f"{name}: the egg has no such variable.")
        elif known is not None and name not in port_like:
            problems.append(
                f"{name}: does not look like a port (its name has no PORT and the startup "
                "command does not pass it as a port)."
            )
    if known is not None:
        for name in port_like:
            if name not in raw:
                problems.append(
                    f"{name}: a port variable of the egg; map it too (a server whose port "
                    "variable names a port it does not own fails to start)."
                )
    return problems


# --------------------------------------------------------------------------- picking sets
@dataclass(frozen=True)
class Free:
    """One free allocation, as the picker sees it."""

    pk: int
    ip: str
    port: int


@dataclass(frozen=True)
class PortSet:
    """A primary and one allocation per extra slot (slot -> allocation pk)."""

    primary: int
    extras: dict[str, int]

    @property
    def pks(self) -> list[int]:
        return [self.primary, *self.extras.values()]


def sets_pick(*, free: Iterable[Free], template: Template) -> Iterator[PortSet]:
    """Disjoint sets, greedily: primaries from the lowest port up (with their +k next to
    them), "any" ports from the top of the IP's free ports down, so the low ports stay in
    consecutive runs for the next primaries. The checkout claims the first set this yields
    and the stock counts them all, so the two agree."""
    rows = sorted(free, key=lambda f: (f.port, f.pk))
    by_address = {(f.ip, f.port): f for f in rows}
    taken: set[int] = set()
    offsets, anys = template.offsets, template.any_variables
    # Per IP, the free ports from the top down, and where the untaken ones start: "any"
    # ports are taken from there, so a whole count stays linear in the ports, not quadratic.
    top_down: dict[str, list[Free]] = {}
    for f in reversed(rows):
        top_down.setdefault(f.ip, []).append(f)
    start = dict.fromkeys(top_down, 0)

    def spare(ip: str, blocked: set[int], n: int) -> list[Free]:
        ports, i = top_down[ip], start[ip]
        while i < len(ports) and ports[i].pk in taken:
            i += 1
        start[ip] = i
        found: list[Free] = []
        while i < len(ports) and len(found) < n:
            if ports[i].pk not in taken and ports[i].pk not in blocked:
                found.append(ports[i])
            i += 1
        return found

    for primary in rows:
        if primary.pk in taken:
            continue
        extras: dict[str, int] = {}
        for k in offsets:
            near = by_address.get((primary.ip, primary.port + k))
            if near is None or near.pk in taken:
                break
            extras[f"+{k}"] = near.pk
        else:
            chosen = spare(primary.ip, {primary.pk, *extras.values()}, len(anys)) if anys else []
            if len(chosen) < len(anys):
                continue
            for name, f in zip(anys, chosen, strict=True):
                extras[f"any:{name}"] = f.pk
            found = PortSet(primary=primary.pk, extras=extras)
            taken.update(found.pks)
            yield found


def extras_for_primary(
    *, free: Iterable[Free], template: Template, primary: Free, have: Mapping[str, int]
) -> dict[str, int] | None:
    """The extra slots of `template` for a server whose primary stays `primary` (a plan
    change): slots it already holds (`have`, slot -> pk) are kept, the others are taken from
    `free` by the same rules as sets_pick. None: some slot cannot be filled."""
    rows = sorted(free, key=lambda f: (f.port, f.pk))
    by_address = {(f.ip, f.port): f for f in rows}
    chosen: dict[str, int] = {}
    for k in template.offsets:
        slot = f"+{k}"
        if slot in have:
            chosen[slot] = have[slot]
            continue
        near = by_address.get((primary.ip, primary.port + k))
        if near is None:
            return None
        chosen[slot] = near.pk
    blocked = {primary.pk, *chosen.values(), *have.values()}
    spare = [f for f in reversed(rows) if f.ip == primary.ip and f.pk not in blocked]
    for name in template.any_variables:
        slot = f"any:{name}"
        if slot in have:
            chosen[slot] = have[slot]
        elif spare:
            chosen[slot] = spare.pop(0).pk
        else:
            return None
    return chosen


def sets_count(*, free: Iterable[Free], template: Template) -> int:
    return sum(1 for _ in sets_pick(free=free, template=template))


def environment_ports(
    *, template: Template, primary_port: int, slot_ports: Mapping[str, int]
) -> dict[str, str]:
    """The port variables' values for a server: env name -> port (as the panel's text)."""
    values = {}
    for name in template.variables:
        if name.startswith(RESERVED):
            continue
        slot = template.slot_of(name)
        port = primary_port if slot == PRIMARY else slot_ports.get(slot)
        if port is not None:
            values[name] = str(port)
    return values
