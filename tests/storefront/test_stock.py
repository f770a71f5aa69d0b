"""Stock = room (issue 13, point 2): one selector (catalog.selectors.region_stock) counts how
many servers of a plan a region can still place; the shop shows it, checkout enforces it, and
it equals the number of checkouts that succeed until sold out, for plans of different sizes
sharing nodes."""

from __future__ import annotations

import pytest
from testkit import checkout, make_customer

from catalog.models import Node, Plan, Region
from catalog.selectors import _fit_count, node_room, region_stock


def _stock(plan: str, region: str = "us-east") -> int:
    return region_stock(region=Region.objects.get(slug=region), plan=Plan.objects.get(slug=plan))


@pytest.mark.parametrize(
    ("size", "over", "committed", "need", "expected"),
    [
        (8192, 0, 0, 2048, 4),
        (8192, 0, 6145, 2048, 0),  # 2047 MiB left: not one more
        (8192, 10, 0, 2048, 4),  # 9011.2 MiB: still 4
        (8192, 25, 0, 2048, 5),  # 10240: exactly 5
        (1024, 10, 0, 1127, 0),  # 1126.4 MiB of ceiling never rounds into a 1127th MiB...
        (1024, 10, 0, 1, 1126),  # ...and holds exactly 1126 of 1 MiB
        (8192, -1, 99999, 2048, None),  # -1: the panel's "do not check"
        (8192, 0, 0, 0, None),  # a plan asking 0 (unlimited) adds nothing
        (0, 0, 0, 1, 0),
    ],
)
def test_fit_count_is_the_panels_rule_in_integers(size, over, committed, need, expected):
    assert _fit_count(size=size, overallocate=over, committed=committed, need=need) == expected


def _single_node_region(*, memory: int, disk: int, cpu: int = 0) -> Node:
    """us-east served by its first node only, sized as given, nothing on it yet."""
    region = Region.objects.get(slug="us-east")
    nodes = list(region.nodes.order_by("ptero_node_id"))
    keep = nodes[0]
    for other in nodes[1:]:
        region.nodes.remove(other)
    Node.objects.filter(pk=keep.pk).update(
        memory=memory,
        memory_overallocate=0,
        disk=disk,
        disk_overallocate=0,
        allocated_memory=0,
        allocated_disk=0,
        cpu=cpu,
        cpu_overallocate=0,
    )
    keep.refresh_from_db()
    return keep


def _buy_until_sold_out(client, plan: str) -> int:
    sold = 0
    while True:
        response = checkout(client, plan=plan, server_name=f"{plan}-{sold}")
        if response.status_code != 201:
            assert (response.status_code, response.json()["code"]) == (409, "sold_out")
            return sold
        sold += 1


def test_shown_stock_is_what_sells_for_plans_of_different_sizes_sharing_nodes(
    catalog, stripe_sandbox, customer
):
    # One node: 10 GiB of memory, plenty of disk. 2 GB and 4 GB Minecraft share it.
    _single_node_region(memory=10240, disk=1_000_000)
    _, client = customer
    assert (_stock("minecraft-2gb"), _stock("minecraft-4gb")) == (5, 2)
    # Sell one 4 GB: 6 GiB left -> three 2 GB or one 4 GB.
    assert checkout(client, plan="minecraft-4gb").status_code == 201
    assert (_stock("minecraft-2gb"), _stock("minecraft-4gb")) == (3, 1)
    # The shop shows that figure.
    page = client.get("/buy/minecraft-2gb").content.decode()
    assert "(3 available)" in page
    shown = _stock("minecraft-2gb")
    assert _buy_until_sold_out(client, "minecraft-2gb") == shown == 3
    assert (_stock("minecraft-2gb"), _stock("minecraft-4gb")) == (0, 0)
    assert "Sold out" in client.get("/buy/minecraft-4gb").content.decode()


def test_every_region_and_plan_sells_exactly_its_stock(catalog, stripe_sandbox):
    """The demo nodes as synced: for each plan in turn, the shown count is the number of
    successful checkouts, while the earlier plans' servers keep their room."""
    _, client = make_customer("big@example.com")
    for plan in ("minecraft-4gb", "minecraft-2gb"):
        for region in ("us-east", "eu-west"):
            shown = _stock(plan, region)
            sold = 0
            while (
                checkout(client, plan=plan, region=region, server_name=f"s{sold}").status_code
                == 201
            ):
                sold += 1
            assert sold == shown, (plan, region)
            assert _stock(plan, region) == 0


def test_free_ports_limit_the_stock_too(catalog, stripe_sandbox, customer):
    node = _single_node_region(memory=1_000_000, disk=1_000_000)
    plan = Plan.objects.get(slug="minecraft-2gb")
    free = node_room(node=node, plan=plan).ports
    assert node_room(node=node, plan=plan).count == free
    assert node_room(node=node, plan=plan).limited_by == ""
    _, client = customer
    assert _buy_until_sold_out(client, "minecraft-2gb") == free
    assert node_room(node=node, plan=plan).limited_by == "ports"


def test_cpu_is_counted_when_the_operator_sets_the_nodes_cpu(catalog, stripe_sandbox, customer):
    node = _single_node_region(memory=1_000_000, disk=1_000_000, cpu=450)
    plan = Plan.objects.get(slug="minecraft-2gb")
    per_server = plan.cpu
    assert per_server > 0
    expected = 450 // per_server
    room = node_room(node=node, plan=plan)
    assert room.cpu == expected == _stock("minecraft-2gb")
    _, client = customer
    assert _buy_until_sold_out(client, "minecraft-2gb") == expected
    assert node_room(node=node, plan=plan).limited_by == "cpu"
    # -1: not checked.
    Node.objects.filter(pk=node.pk).update(cpu_overallocate=-1)
    node.refresh_from_db()
    assert node_room(node=node, plan=plan).cpu is None


def test_unlimited_overallocation_leaves_ports_as_the_limit(catalog, stripe_sandbox):
    node = _single_node_region(memory=1024, disk=1024)
    Node.objects.filter(pk=node.pk).update(memory_overallocate=-1, disk_overallocate=-1)
    node.refresh_from_db()
    plan = Plan.objects.get(slug="minecraft-4gb")
    room = node_room(node=node, plan=plan)
    assert (room.memory, room.disk) == (None, None)
    assert room.count == room.ports > 0


def test_holds_take_room_and_cancelling_gives_it_back(catalog, stripe_sandbox, customer):
    _single_node_region(memory=10240, disk=1_000_000)
    _, client = customer
    order_id = checkout(client, plan="minecraft-4gb").json()["order_id"]
    assert _stock("minecraft-4gb") == 1
    from billing.services import order_cancel

    order_cancel(order_id=order_id, actor="test", reason="test")
    assert _stock("minecraft-4gb") == 2
