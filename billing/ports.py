"""An order's port set: its primary (`Order.allocation`) and its extra ports (OrderPort), as
the plan's port template (catalog/ports.py) asks. Written in the checkout's claim savepoint,
read by provisioning (allocation.additional, the port variables) and by the order pages."""

from __future__ import annotations

from dataclasses import dataclass

from billing.models import Order, OrderPort
from catalog.models import Allocation
from catalog.ports import PRIMARY, Template, environment_ports


def order_ports_set(*, order: Order, extras: dict[str, Allocation]) -> None:
    """Make the order's extra ports exactly `extras` (slot -> allocation). Call inside the
    savepoint that claims them: a port another order holds raises IntegrityError there."""
    keep = {slot: a.pk for slot, a in extras.items()}
    stale = OrderPort.objects.filter(order=order)
    for slot, pk in keep.items():
        stale = stale.exclude(slot=slot, allocation_id=pk)
    stale.delete()
    held = set(OrderPort.objects.filter(order=order).values_list("slot", flat=True))
    OrderPort.objects.bulk_create(
        [
            OrderPort(order=order, slot=slot, allocation=allocation)
            for slot, allocation in extras.items()
            if slot not in held
        ]
    )


def order_extras(*, order: Order) -> dict[str, Allocation]:
    """The order's extra ports: slot -> allocation."""
    rows = OrderPort.objects.filter(order=order).select_related("allocation")
    return {row.slot: row.allocation for row in rows}


def order_environment_ports(*, order: Order, template: Template) -> dict[str, str]:
    """The port variables of the order's server (env name -> port), from its set."""
    if order.allocation is None:
        return {}
    slot_ports = {slot: a.port for slot, a in order_extras(order=order).items()}
    return environment_ports(
        template=template, primary_port=order.allocation.port, slot_ports=slot_ports
    )


@dataclass(frozen=True)
class PortLine:
    """One port of a server as its pages show it."""

    address: str
    names: list[str]
    """The egg variables that use it (SERVER_PORT for the primary)."""


def order_port_lines(*, order: Order) -> list[PortLine]:
    """Every port of the order's server: the primary first, then the extra ones by port."""
    if order.allocation is None:
        return []
    template = order.plan.ports()
    by_slot: dict[str, list[str]] = {}
    for name in sorted(template.variables):
        by_slot.setdefault(template.slot_of(name), []).append(name)
    lines = [PortLine(order.allocation.address, ["SERVER_PORT", *by_slot.get(PRIMARY, [])])]
    extras = sorted(order_extras(order=order).items(), key=lambda kv: kv[1].port)
    for slot, allocation in extras:
        lines.append(PortLine(allocation.address, by_slot.get(slot, [])))
    return lines
