"""Port templates (issue 16 points 1-3 and 6): a plan's servers take a set of ports, reserved
whole at checkout, created with allocation.additional and matching port variables, kept by
retries, changed by a plan change, freed by termination. docs/ports-and-placement.md."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import checkout, make_customer, run_worker

from billing.models import Order, OrderPort
from billing.ports import order_port_lines
from billing.services import order_change_plan
from catalog.models import Allocation, Plan, Region
from catalog.ports import Free, Template, sets_count, sets_pick, template_problems
from catalog.selectors import region_stock
from provisioning.operator import order_staff_terminate
from sandbox.panel.ports import port_mismatches

RUST_VARS = ("QUERY_PORT", "RCON_PORT", "APP_PORT")


# --------------------------------------------------------------------------- the picker
@settings(max_examples=200, deadline=None)
@given(
    ports=st.sets(st.integers(min_value=1000, max_value=1060), max_size=50),
    offsets=st.sets(st.integers(min_value=1, max_value=4), max_size=2),
    anys=st.integers(min_value=0, max_value=2),
)
def test_sets_are_disjoint_complete_and_consecutive_where_asked(ports, offsets, anys):
    free = [Free(pk=p * 10, ip="10.0.0.1", port=p) for p in ports]
    variables = {f"OFF{k}_PORT": f"+{k}" for k in offsets}
    variables.update({f"ANY{i}_PORT": "any" for i in range(anys)})
    template = Template(variables)
    sets = list(sets_pick(free=free, template=template))
    used = [pk for s in sets for pk in s.pks]
    assert len(used) == len(set(used)) == len(sets) * template.size
    assert set(used) <= {f.pk for f in free}
    for s in sets:
        assert set(s.extras) == set(template.slots)
        for k in offsets:
            assert s.extras[f"+{k}"] == s.primary + 10 * k
    # Greedy leaves no set behind: what is left cannot make one more.
    left = [f for f in free if f.pk not in set(used)]
    assert sets_count(free=left, template=template) == 0 or (template.size == 1 and not left)


def test_extra_ports_stay_on_the_primarys_ip():
    free = [Free(1, "10.0.0.1", 3000), Free(2, "10.0.0.2", 3001), Free(3, "10.0.0.2", 3002)]
    template = Template({"RCON_PORT": "+1"})
    assert [(s.primary, s.extras) for s in sets_pick(free=free, template=template)] == [
        (2, {"+1": 3})
    ]


def test_template_rules_name_the_problem(db, catalog):
    rust = Plan.objects.get(slug="rust-4gb")
    egg = rust.egg
    problems = template_problems(
        raw={"RCON_PORT": "+0", "MAX_PLAYERS": "any", "NOPE_PORT": "any", "SERVER_PORT": "+1"},
        variables=egg.variables,
        startup=egg.startup,
    )
    assert problems == [
        'RCON_PORT: give "primary", "any" or "+k" with k from 1 to 100 (got \'+0\').',
        "MAX_PLAYERS: does not look like a port (its name has no PORT and the startup command "
        "does not pass it as a port).",
        "NOPE_PORT: the egg has no such variable.",
        "SERVER_PORT is always the primary allocation; leave it out.",
        "QUERY_PORT: a port variable of the egg; map it too (a server whose port variable "
        "names a port it does not own fails to start).",
        "APP_PORT: a port variable of the egg; map it too (a server whose port variable names "
        "a port it does not own fails to start).",
    ]
    rust.port_template = {"RCON_PORT": "+1"}
    with pytest.raises(ValidationError) as caught:
        rust.full_clean()
    assert set(caught.value.message_dict) == {"port_template"}


# --------------------------------------------------------------------------- checkout
def _paid(client, stripe_sandbox, **overrides) -> Order:
    response = checkout(client, **overrides)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    order.refresh_from_db()
    assert order.status == "paid"
    return order


def _rust_body(**more) -> dict:
    return {"plan": "rust-4gb", "server_name": "Rusty", **more}


def _assert_server_matches_set(sandbox, order: Order) -> dict:
    server = sandbox.state.servers[order.ptero_server_id]
    owned = sandbox.state.server_allocations(server["id"])
    ours = [order.allocation, *(p.allocation for p in order.ports.all())]
    assert sorted(a["id"] for a in owned) == sorted(a.ptero_allocation_id for a in ours)
    assert server["allocation_id"] == order.allocation.ptero_allocation_id
    assert port_mismatches(sandbox.state, server) == []
    return server


@pytest.mark.django_db(transaction=True)
def test_a_rust_order_gets_three_ports_and_matching_variables(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _paid(client, stripe_sandbox, **_rust_body())
    primary = order.allocation.port
    slots = dict(OrderPort.objects.filter(order=order).values_list("slot", "allocation__port"))
    assert set(slots) == {"+1", "any:APP_PORT"}
    assert slots["+1"] == primary + 1

    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    server = _assert_server_matches_set(catalog, order)
    assert len(catalog.state.server_allocations(server["id"])) == 3
    env = server["env"]
    assert (env["RCON_PORT"], env["QUERY_PORT"], env["APP_PORT"]) == (
        str(primary + 1),
        str(primary + 1),
        str(slots["any:APP_PORT"]),
    )
    # Wings starts it: every port variable names one of its allocations.
    catalog.state.complete_installs()
    assert server["power"] == "running"
    # The order page lists every port with the variables that use it.
    lines = [(line.address.rsplit(":", 1)[1], line.names) for line in order_port_lines(order=order)]
    assert lines == [
        (str(primary), ["SERVER_PORT"]),
        (str(primary + 1), ["QUERY_PORT", "RCON_PORT"]),
        (str(slots["any:APP_PORT"]), ["APP_PORT"]),
    ]
    page = client.get(f"/orders/{order.pk}").content.decode()
    for address, _names in lines:
        assert f":{address}" in page
    # The JSON API (client area) lists them too.
    api = client.get(f"/api/servers/{order.pk}").json()
    assert [(p["address"].rsplit(":", 1)[1], p["names"]) for p in api["ports"]] == lines


@pytest.mark.django_db(transaction=True)
def test_retry_after_a_lost_create_response_keeps_the_set(catalog, stripe_sandbox, customer):
    _, client = customer
    order = _paid(client, stripe_sandbox, **_rust_body())
    reserved = sorted(
        [
            order.allocation_id,
            *OrderPort.objects.filter(order=order).values_list("allocation_id", flat=True),
        ]
    )
    catalog.faults.drop_after_commit_rate = 1.0  # the panel creates, the answer is lost
    run_worker()
    catalog.faults.drop_after_commit_rate = 0.0
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert len(catalog.state.servers) == 1
    after = sorted(
        [
            order.allocation_id,
            *OrderPort.objects.filter(order=order).values_list("allocation_id", flat=True),
        ]
    )
    assert after == reserved
    _assert_server_matches_set(catalog, order)


@pytest.mark.django_db(transaction=True)
def test_termination_frees_every_port_of_the_set(catalog, stripe_sandbox, customer):
    _, client = customer
    region = Region.objects.get(slug="us-east")
    plan = Plan.objects.get(slug="rust-4gb")
    full = region_stock(region=region, plan=plan)
    order = _paid(client, stripe_sandbox, **_rust_body())
    run_worker()
    order.refresh_from_db()
    assert region_stock(region=region, plan=plan) == full - 1
    order_staff_terminate(order_id=order.pk, actor="staff:test")
    order.refresh_from_db()
    assert (order.status, order.allocation_id) == ("terminated", None)
    assert OrderPort.objects.filter(order=order).count() == 0
    assert region_stock(region=region, plan=plan) == full
    assert catalog.state.servers == {}


@pytest.mark.django_db(transaction=True)
def test_cancelled_checkout_frees_the_whole_set(catalog, stripe_sandbox, customer):
    _, client = customer
    order_id = checkout(client, **_rust_body()).json()["order_id"]
    assert OrderPort.objects.filter(order_id=order_id).count() == 2
    assert client.get(f"/orders/{order_id}/cancel").status_code == 200
    assert OrderPort.objects.filter(order_id=order_id).count() == 0


@pytest.mark.django_db(transaction=True)
def test_plan_change_keeps_the_ports_and_follows_the_new_template(
    catalog, stripe_sandbox, customer
):
    user, client = customer
    # The bigger plan: APP_PORT moves onto the game port's number, a +2 is added.
    Plan.objects.filter(slug="rust-8gb").update(
        port_template={"RCON_PORT": "+1", "QUERY_PORT": "+2", "APP_PORT": "primary"}
    )
    order = _paid(client, stripe_sandbox, **_rust_body())
    run_worker()
    order.refresh_from_db()
    primary = order.allocation
    rcon = OrderPort.objects.get(order=order, slot="+1").allocation
    app = OrderPort.objects.get(order=order, slot="any:APP_PORT").allocation

    order_change_plan(order_id=order.pk, user_id=user.pk, plan_slug="rust-8gb")
    run_worker()
    order.refresh_from_db()
    assert order.build_pending is False
    assert order.allocation_id == primary.pk
    slots = {p.slot: p.allocation for p in OrderPort.objects.filter(order=order)}
    assert set(slots) == {"+1", "+2"}
    assert slots["+1"].pk == rcon.pk
    assert slots["+2"].port == primary.port + 2
    # The freed APP port is back on sale; the panel let it go.
    assert not OrderPort.objects.filter(allocation=app).exists()
    assert catalog.state.allocations[app.ptero_allocation_id]["server_id"] is None
    server = _assert_server_matches_set(catalog, order)
    assert server["env"]["APP_PORT"] == str(primary.port)
    assert server["env"]["QUERY_PORT"] == str(primary.port + 2)


# --------------------------------------------------------------------------- concurrency
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_checkouts_sell_exactly_the_sets_that_fit(
    catalog, stripe_sandbox, live_server, settings
):
    # The checkout limiter takes a per-address lock and refuses (429) an attempt that finds
    # it held (tests/storefront/test_holds.py covers that); all 200 come from 127.0.0.1 at
    # once, and what is tested here is the reservation, so the limiter is off.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "checkout": ""}
    # A 3-port plan on the Minecraft range: 15 ports on each New York node make 5 sets each
    # (primary, primary+1, one anywhere), and some ports are taken in the panel already.
    Plan.objects.filter(slug="rust-4gb").update(port_range="25565-25579", memory=256, disk=256)
    Allocation.objects.filter(node__regions__slug="us-east", port__in=(25567, 25571)).update(
        assigned=True
    )
    region = Region.objects.get(slug="us-east")
    plan = Plan.objects.get(slug="rust-4gb")
    fit = region_stock(region=region, plan=plan)
    assert 0 < fit < 200
    user, _ = make_customer("crowd@example.com")
    session_client = Client()
    session_client.force_login(user)
    cookies = {"sessionid": session_client.cookies["sessionid"].value, "csrftoken": "a" * 32}
    body = {"plan": "rust-4gb", "region": "us-east", "server_name": "race"}

    def buy(_: int) -> int:
        r = httpx.post(
            live_server.url + "/api/checkout/session",
            json=body,
            cookies=cookies,
            headers={"X-CSRFToken": "a" * 32},
            timeout=60,
        )
        return r.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(buy, range(200)))
    close_old_connections()

    assert statuses == [201] * fit + [409] * (200 - fit)
    orders = list(Order.objects.filter(status="pending"))
    assert len(orders) == fit
    ports = []
    for order in orders:
        extras = list(order.ports.select_related("allocation"))
        # No partial set: every order holds its primary and both extra ports.
        assert sorted(p.slot for p in extras) == ["+1", "any:APP_PORT"]
        by_slot = {p.slot: p.allocation for p in extras}
        assert by_slot["+1"].port == order.allocation.port + 1
        assert {a.ip for a in (order.allocation, *by_slot.values())} == {order.allocation.ip}
        ports += [order.allocation_id, *(a.pk for a in by_slot.values())]
    assert len(ports) == len(set(ports)) == 3 * fit  # no port held twice
    assert not Allocation.objects.filter(pk__in=ports, assigned=True).exists()
    assert region_stock(region=region, plan=plan) == 0
