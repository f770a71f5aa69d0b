"""A fixed shop for the console tests: three plans (monthly, yearly, one-off), two regions,
two nodes with ports, and orders in every interesting state, at a fixed `NOW`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.models import User
from billing.models import Order, OrderEvent
from catalog.models import Allocation, Egg, Game, Node, Plan, Region, RegionNodeMap
from core.models import Alert, DutyLease, Heartbeat

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)


def build_shop() -> dict[str, Any]:
    game = Game.objects.create(slug="mc", name="Minecraft")
    egg = Egg.objects.create(
        ptero_egg_id=1, ptero_nest_id=1, name="Paper", docker_image="img", startup="java"
    )

    def plan(slug: str, cents: int, interval: str, memory: int, disk: int) -> Plan:
        return Plan.objects.create(
            game=game,
            slug=slug,
            name=slug,
            egg=egg,
            stripe_price_id=f"price_{slug}",
            recurring_interval=interval,
            price_cents=cents,
            memory=memory,
            disk=disk,
        )

    monthly = plan("monthly", 1000, "month", 2048, 5000)
    yearly = plan("yearly", 12000, "year", 4096, 8000)
    once = plan("once", 500, "", 1024, 3000)
    us = Region.objects.create(slug="us", name="New York", sort_order=1)
    Region.objects.create(slug="eu", name="Frankfurt", sort_order=2)
    n1 = Node.objects.create(
        ptero_node_id=1,
        name="ny-1",
        memory=4096,
        disk=20000,
        allocated_memory=1024,
        allocated_disk=2000,
        synced_at=NOW - D,
    )
    n2 = Node.objects.create(
        ptero_node_id=2,
        name="ny-2",
        memory=2048,
        memory_overallocate=50,
        disk=10000,
        synced_at=NOW - D,
    )
    RegionNodeMap.objects.create(region=us, node=n1)
    RegionNodeMap.objects.create(region=us, node=n2)
    ports = {}
    for node, count in ((n1, 4), (n2, 2)):
        for i in range(count):
            ports[(node.ptero_node_id, i + 1)] = Allocation.objects.create(
                ptero_allocation_id=node.ptero_node_id * 100 + i,
                node=node,
                ip=f"10.0.0.{node.ptero_node_id}",
                port=25565 + i,
            )
    user = User.objects.create_user("cust@example.com", "pw-for-tests-1")
    seq = iter(range(1, 100))

    def order(
        status: str, p: Plan, *, paid: datetime | None, took: float | None = None, **kw: Any
    ) -> Order:
        port = kw.pop("port", None)
        if port is not None:
            alloc = ports[port]
            alloc.assigned = kw.pop("assigned", False)
            alloc.save()
            kw["allocation"] = alloc
        n = next(seq)
        return Order.objects.create(
            user=user,
            plan=p,
            region=us,
            server_name=f"server {n}",
            status=status,
            amount_cents=kw.pop("amount", p.price_cents),
            currency=kw.pop("currency", "usd"),
            paid_at=paid,
            provisioned_at=(paid + timedelta(seconds=took)) if paid and took else None,
            ptero_server_id=n if took else None,
            ptero_identifier=f"abcd{n:04d}" if took else "",
            **kw,
        )

    o = {
        "A": order("provisioned", monthly, paid=NOW - 2 * H, took=60, port=(1, 1), assigned=True,
                   stripe_subscription_id="sub_A", subscription_status="active"),
        "B": order("provisioned", yearly, paid=NOW - 3 * D, took=120, port=(1, 2), assigned=True,
                   stripe_subscription_id="sub_B", subscription_status="active"),
        "C": order("provisioned", once, paid=NOW - 10 * D, took=300, port=(2, 1), assigned=True),
        "D": order("suspended", monthly, paid=NOW - 20 * D, took=90,
                   stripe_subscription_id="sub_D", subscription_status="past_due"),
        "E": order("terminated", monthly, paid=NOW - 40 * D, took=30,
                   stripe_subscription_id="sub_E", subscription_status="canceled",
                   subscription_ended_at=NOW - 5 * D),
        "F": order("error", once, paid=NOW - H, port=(1, 3), currency="eur"),
        "G": order("pending", once, paid=None, port=(2, 2)),
        "I": order("provisioned", monthly, paid=NOW - 60 * D, took=45,
                   stripe_subscription_id="sub_I", subscription_status="active"),
    }  # fmt: skip
    OrderEvent.objects.create(order=o["F"], from_status="provisioning", to_status="error")
    Alert.objects.create(title="resolved one", body="x", resolved_at=NOW - H, resolved_by="s:a")
    Alert.objects.create(title="acked one", body="x", acknowledged_at=NOW, acknowledged_by="s:b")
    Alert.objects.create(title="Order #6: provisioning failed", body="x", order_id=o["F"].pk)
    Heartbeat.objects.create(name="worker", beat_at=NOW - timedelta(seconds=30))
    DutyLease.objects.create(
        name="reconcile", interval_seconds=60, last_started_at=NOW - timedelta(seconds=10)
    )
    DutyLease.objects.create(
        name="panel_sync",
        interval_seconds=600,
        last_started_at=NOW - timedelta(seconds=2000),
        last_error="PanelRetryableError: 502",
    )
    return o
