"""Placement (issue 16 point 4): a region's policy orders its nodes (pack fills one node before
the next, spread takes the least-loaded, weight scales both); a drained node takes no new
server through the real checkout, is not in the stock, and keeps the servers it has. The
console edits policy, drain and weight; doctor reports each node."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from testkit import checkout, csrf_client, make_customer, run_worker

from billing.models import Order
from catalog.models import Node, PlacementPolicy, Plan, Region
from catalog.placement import node_drain_set, node_fill, placement_order
from catalog.selectors import region_stock
from core.doctor import doctor_run

pytestmark = pytest.mark.django_db(transaction=True)

PLAN = "minecraft-2gb"  # 2048 MiB


def _us_east(policy: str = PlacementPolicy.PACK) -> tuple[Region, Node, Node]:
    """us-east with its two nodes (ny-1, ny-2) both 10 x 2 GiB of memory, empty."""
    Region.objects.filter(slug="us-east").update(placement_policy=policy)
    region = Region.objects.get(slug="us-east")
    ny1, ny2 = region.nodes.order_by("ptero_node_id")
    Node.objects.filter(pk__in=[ny1.pk, ny2.pk]).update(
        memory=20480, memory_overallocate=0, allocated_memory=0, allocated_disk=0
    )
    ny1.refresh_from_db()
    ny2.refresh_from_db()
    return region, ny1, ny2


def _order_names(region: Region) -> list[str]:
    return [n.name for n in placement_order(region=region, plan=Plan.objects.get(slug=PLAN))]


def _node_of(response) -> str:
    assert response.status_code == 201, response.content
    return (
        Order.objects.select_related("allocation__node")
        .get(pk=response.json()["order_id"])
        .allocation.node.name
    )


def test_pack_fills_one_node_before_the_next_and_weight_picks_which(catalog):
    region, ny1, ny2 = _us_east(PlacementPolicy.PACK)
    assert _order_names(region) == ["ny-1", "ny-2"]
    # Already half full or not: pack keeps the order until ny-1 cannot take the plan.
    Node.objects.filter(pk=ny1.pk).update(allocated_memory=10240)
    assert _order_names(region) == ["ny-1", "ny-2"]
    Node.objects.filter(pk=ny1.pk).update(allocated_memory=20480 - 2047)  # no 2 GiB left
    assert _order_names(region) == ["ny-2"]
    Node.objects.filter(pk=ny1.pk).update(allocated_memory=0)
    # A higher weight fills first.
    Node.objects.filter(pk=ny2.pk).update(weight=3)
    assert _order_names(region) == ["ny-2", "ny-1"]


def test_spread_takes_the_least_loaded_node_and_weight_scales_its_share(catalog):
    region, ny1, ny2 = _us_east(PlacementPolicy.SPREAD)
    Node.objects.filter(pk=ny1.pk).update(allocated_memory=10240)  # 50 %
    Node.objects.filter(pk=ny2.pk).update(allocated_memory=4096)  # 20 %
    assert _order_names(region) == ["ny-2", "ny-1"]
    ny1.refresh_from_db()
    assert node_fill(node=ny1) == 0.5
    # Weight 3 on ny-1: 50 % / 3 = 16.7 % < 20 %.
    Node.objects.filter(pk=ny1.pk).update(weight=3)
    assert _order_names(region) == ["ny-1", "ny-2"]
    # Equal fill: fewer of our servers per weight, then the node id.
    Node.objects.filter(pk__in=[ny1.pk, ny2.pk]).update(allocated_memory=0, weight=1)
    assert _order_names(region) == ["ny-1", "ny-2"]


def test_real_checkouts_follow_the_policy(catalog, stripe_sandbox, customer):
    _, client = customer
    _us_east(PlacementPolicy.PACK)
    assert [_node_of(checkout(client, server_name=f"p{i}")) for i in range(3)] == ["ny-1"] * 3
    Order.objects.all().delete()
    _us_east(PlacementPolicy.SPREAD)
    # Each hold counts on its node at once (2 GiB of 20 GiB), so spread alternates.
    placed = [_node_of(checkout(client, server_name=f"s{i}")) for i in range(4)]
    assert placed == ["ny-1", "ny-2", "ny-1", "ny-2"]


def test_a_drained_node_gets_no_new_server_and_keeps_its_own(catalog, stripe_sandbox, customer):
    _, client = customer
    region, ny1, ny2 = _us_east(PlacementPolicy.PACK)
    plan = Plan.objects.get(slug=PLAN)
    # A server already running on ny-1.
    running = Order.objects.get(pk=checkout(client, server_name="old").json()["order_id"])
    stripe_sandbox.complete_session(running.stripe_session_id)
    run_worker()
    running.refresh_from_db()
    assert (running.status, running.allocation.node.name) == ("provisioned", "ny-1")
    before = region_stock(region=region, plan=plan)

    assert node_drain_set(node_id=ny1.pk, drained=True) is True
    # The stock no longer counts ny-1 (9 left there), only ny-2's 10.
    assert (before, region_stock(region=region, plan=plan)) == (19, 10)
    assert [_node_of(checkout(client, server_name=f"n{i}")) for i in range(3)] == ["ny-2"] * 3
    # The running server is untouched.
    running.refresh_from_db()
    assert (running.status, running.allocation.node.name) == ("provisioned", "ny-1")

    # Both drained: sold out, and checkout says so (nothing written).
    node_drain_set(node_id=ny2.pk, drained=True)
    assert region_stock(region=region, plan=plan) == 0
    orders = Order.objects.count()
    response = checkout(client, server_name="none")
    assert (response.status_code, response.json()["code"]) == (409, "sold_out")
    assert Order.objects.count() == orders
    # Lifting the drain sells there again.
    node_drain_set(node_id=ny1.pk, drained=False)
    assert _node_of(checkout(client, server_name="back")) == "ny-1"


def test_doctor_reports_fill_drain_weight_and_free_ports_per_node(catalog):
    _, ny1, _ = _us_east()
    Node.objects.filter(pk=ny1.pk).update(allocated_memory=5120, drained=True, weight=2)
    (check,) = [c for c in doctor_run() if c.name == "Nodes: fill, drain and free ports"]
    free = ny1.allocation_set.filter(assigned=False).count()
    assert (
        f"node 'ny-1' (panel node {ny1.ptero_node_id}; us-east): 25% full, weight 2, "
        f"{free} free ports, drained: no new servers"
    ) in check.details


def test_concurrent_checkouts_under_spread_sell_exactly_the_room_with_no_deadlock(
    catalog, stripe_sandbox
):
    """Spread visits nodes in an order that changes with every sale; twelve customers at once
    on two nodes with room for three each: exactly six sold, three per node, six clear
    sold-outs, no 5xx (a deadlock would be one)."""
    region, ny1, ny2 = _us_east(PlacementPolicy.SPREAD)
    Node.objects.filter(pk__in=[ny1.pk, ny2.pk]).update(memory=6144)
    customers = [make_customer(f"c{i}@example.com")[0] for i in range(12)]
    barrier = threading.Barrier(12)

    def buy(i: int) -> tuple[int, str]:
        # Twelve customers from twelve addresses: one address shared by all would meet the
        # checkout rate limiter's per-address cache lock, which refuses (429) when it cannot
        # take the lock in time (django-allauth allauth/core/internal/ratelimit.py cache_lock).
        client = csrf_client()
        client.defaults["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        client.force_login(customers[i])
        barrier.wait()
        try:
            response = checkout(client, server_name=f"c{i}")
            return response.status_code, response.json().get("code", "")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = sorted(pool.map(buy, range(12)))
    assert [status for status, _ in results] == [201] * 6 + [409] * 6, results
    assert {code for status, code in results if status == 409} == {"sold_out"}
    per_node = sorted(
        Order.objects.filter(status="pending").values_list("allocation__node__name", flat=True)
    )
    assert per_node == ["ny-1"] * 3 + ["ny-2"] * 3
    assert region_stock(region=region, plan=Plan.objects.get(slug=PLAN)) == 0
