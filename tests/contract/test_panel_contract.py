"""Panel contract suite: every PanelClient method against the sandbox (default) or a real panel.

Read-only tests run everywhere. Write tests (the ``world`` fixture) are skipped against a real
panel unless PANEL_CONTRACT_WRITE=1; against the sandbox they always run.
"""

from __future__ import annotations

import os

import pytest
from contract_kit import TEST_LIMITS, Target, World, unique

from panel.errors import (
    PanelConflictError,
    PanelConnectionError,
    PanelNotFoundError,
    PanelRateLimitedError,
    PanelServerError,
    PanelTerminalError,
    PanelValidationError,
)
from panel.types import (
    DeploySpec,
    FeatureLimits,
    PanelEgg,
    PanelLocation,
    PanelNest,
    PanelNode,
    PanelServer,
    PanelUser,
    ServerLimits,
)

pytestmark = pytest.mark.contract


# --- read-only ----------------------------------------------------------------------------------


def test_catalogue_maps(target: Target) -> None:
    client = target.client
    locations = client.locations_list()
    assert locations and all(isinstance(x, PanelLocation) for x in locations)
    location_ids = {x.id for x in locations}

    nodes = client.nodes_list()
    assert nodes and all(isinstance(x, PanelNode) for x in nodes)
    for node in nodes:
        assert node.location_id in location_ids
        assert client.node_get(node_id=node.id) == node

    nests = client.nests_list()
    assert nests and all(isinstance(x, PanelNest) for x in nests)
    eggs = [egg for nest in nests for egg in client.eggs_list(nest_id=nest.id)]
    assert eggs and all(isinstance(e, PanelEgg) for e in eggs)
    for egg in eggs:
        assert egg.docker_image and egg.docker_image in egg.docker_images.values()
        assert egg.startup
    assert any(egg.variables for egg in eggs), "include=variables returned no variables"
    egg = next(e for e in eggs if e.variables)
    assert client.egg_get(nest_id=egg.nest_id, egg_id=egg.id) == egg
    assert all(v.env_variable for v in egg.variables)

    # Scoped binding: an egg asked for under another nest is a 404.
    other_nest = next((n for n in nests if n.id != egg.nest_id), None)
    if other_nest is not None:
        with pytest.raises(PanelNotFoundError):
            client.egg_get(nest_id=other_nest.id, egg_id=egg.id)

    if target.is_sandbox:
        names = {e.name for e in eggs}
        assert {"Paper", "Vanilla Minecraft", "Rust", "Garrys Mod"} <= names
        assert len(locations) >= 2


def test_allocations_pagination_and_free_filter(target: Target) -> None:
    client = target.client
    node = max(
        client.nodes_list(), key=lambda n: len(client.allocations_list(node_id=n.id, per_page=500))
    )
    everything = client.allocations_list(node_id=node.id, per_page=500)
    assert len(everything) >= 3, "need a node with 3+ allocations to prove paging"
    # per_page=2 forces several pages; the same rows must come back, in the same order.
    paged = client.allocations_list(node_id=node.id, per_page=2)
    assert paged == everything
    assert all(a.node_id == node.id for a in paged)
    assert len({a.id for a in paged}) == len(paged)

    free = client.allocations_list(node_id=node.id, free_only=True, per_page=2)
    assert all(not a.assigned for a in free)
    assert {a.id for a in free} == {a.id for a in everything if not a.assigned}


def test_users_and_servers_pagination(target: Target) -> None:
    client = target.client
    if target.write_allowed:
        tag = unique()
        for i in range(3):
            u = client.user_create(
                email=f"{tag}-{i}@example.invalid",
                username=f"{tag}-{i}",
                first_name="P",
                last_name="Q",
            )
            target.cleanup_user(u.id)
    one_by_one = list(client.users_iter(per_page=1))
    at_once = list(client.users_iter(per_page=500))
    assert one_by_one == at_once
    assert all(isinstance(u, PanelUser) for u in at_once)
    assert [u.id for u in at_once] == sorted(u.id for u in at_once)  # sort=id is sent
    if target.write_allowed:
        assert len(at_once) >= 4
        mine = list(client.users_iter(per_page=1, email=tag))
        assert len(mine) == 3

    servers_paged = list(client.servers_iter(per_page=1))
    servers_all = list(client.servers_iter(per_page=500))
    assert [s.id for s in servers_paged] == [s.id for s in servers_all]
    assert all(isinstance(s, PanelServer) for s in servers_all)


def test_exact_lookups_miss(target: Target) -> None:
    client = target.client
    missing = unique("gw-contract-missing")
    assert client.user_get_by_external_id(external_id=missing) is None
    assert client.server_get_by_external_id(external_id=missing) is None
    assert client.user_find_by_email(email=f"{missing}@example.invalid") is None
    with pytest.raises(PanelNotFoundError):
        client.user_get(user_id=2_000_000_000)
    with pytest.raises(PanelNotFoundError):
        client.server_get(server_id=2_000_000_000)
    first = next(client.users_iter(per_page=1))
    assert client.user_get(user_id=first.id) == first
    assert client.user_find_by_email(email=first.email.upper()) == first


def test_unknown_filter_is_terminal(target: Target) -> None:
    with pytest.raises(PanelTerminalError) as ei:
        list(target.client.users_iter(not_a_field="x"))
    assert ei.value.status == 400
    assert ei.value.code == "InvalidFilterQuery"


def test_nodes_deployable(target: Target) -> None:
    client = target.client
    assert client.nodes_deployable(memory=10**9, disk=10**9) == []
    fits = client.nodes_deployable(memory=128, disk=128)
    assert all(isinstance(n, PanelNode) for n in fits)
    all_public = {n.id for n in client.nodes_list() if n.public}
    assert {n.id for n in fits} <= all_public
    if target.is_sandbox:
        assert fits
        loc = fits[0].location_id
        in_loc = client.nodes_deployable(memory=128, disk=128, location_ids=[loc])
        assert in_loc and all(n.location_id == loc for n in in_loc)


def test_rate_limit_headers_recorded(target: Target) -> None:
    client = target.client
    client.locations_list()
    first = client.rate_limit
    assert first is not None, "no X-RateLimit-* headers: is a proxy stripping them?"
    assert first.limit and first.limit > 0
    assert first.remaining is not None and 0 <= first.remaining < first.limit
    client.locations_list()
    second = client.rate_limit
    assert second is not None and second.observed_at >= first.observed_at
    if target.is_sandbox:
        assert first.limit == 240
        assert second.remaining == first.remaining - 1


def test_client_view_read_only(target: Target, request: pytest.FixtureRequest) -> None:
    if not target.has_client_key:
        pytest.skip("PANEL_CONTRACT_CLIENT_KEY not set")
    server = next(target.client.servers_iter(per_page=1), None)
    if server is None and target.write_allowed:
        server = request.getfixturevalue("world").create_server()
    if server is None:
        pytest.skip("the panel has no server to view")
    view = target.client.client_server_view(identifier=server.identifier)
    assert (view.internal_id, view.uuid, view.identifier) == (
        server.id,
        server.uuid,
        server.identifier,
    )


# --- write --------------------------------------------------------------------------------------


def test_user_create_taken_and_find(target: Target) -> None:
    target.require_write()
    client = target.client
    tag = unique()
    email = f"{tag}@example.invalid"
    # A look-alike that a substring filter would also return.
    decoy = client.user_create(
        email=f"x{tag}@example.invalid.au",
        username=f"x{tag}",
        first_name="Decoy",
        last_name="User",
    )
    target.cleanup_user(decoy.id)
    user = client.user_create(
        email=email, username=tag, first_name="Con", last_name="Tract", external_id=tag
    )
    target.cleanup_user(user.id)
    assert (user.email, user.username, user.external_id) == (email, tag, tag)
    assert (user.first_name, user.last_name, user.root_admin) == ("Con", "Tract", False)

    with pytest.raises(PanelValidationError) as ei:
        client.user_create(email=email.upper(), username=f"{tag}-2", first_name="A", last_name="B")
    assert ei.value.has("email", "unique")

    assert client.user_find_by_email(email=email.upper()) == user
    assert client.user_find_by_email(email=f"{tag}@example.invalid.au") is None
    assert client.user_get_by_external_id(external_id=tag) == user
    assert client.user_get(user_id=user.id) == user


def test_server_create_explicit_allocation(world: World) -> None:
    client = world.target.client
    alloc = world.free[0]
    external_id = unique()
    server = world.create_server(external_id=external_id)

    assert server.external_id == external_id
    assert server.allocation_id == alloc.id
    assert server.node_id == world.node.id
    assert server.user_id == world.user_id
    assert server.egg_id == world.egg.id
    assert server.status == "installing"
    assert server.limits == TEST_LIMITS
    assert server.allocations == ()  # built from the 201 alone: no follow-up GET
    # Every egg variable came back as a string, with the default we sent.
    for key, value in world.egg.default_environment().items():
        assert server.environment.get(key) == value

    found = client.server_get_by_external_id(external_id=external_id)
    assert found is not None and found.id == server.id
    primary = found.primary_allocation
    assert primary is not None
    assert (primary.id, primary.ip, primary.port) == (alloc.id, alloc.ip, alloc.port)
    assert client.server_get(server_id=server.id) == found
    assert alloc.id not in {
        a.id for a in client.allocations_list(node_id=world.node.id, free_only=True)
    }

    # The same external id again: 422 unique (before any allocation work).
    with pytest.raises(PanelValidationError) as ei:
        world.create_server(external_id=external_id)
    assert ei.value.has("external_id", "unique")

    # The same allocation again: 422 allocation.default exists.
    with pytest.raises(PanelValidationError) as ei:
        world.create_server(allocation_id=alloc.id)
    assert ei.value.has("allocation.default", "exists")


def test_server_create_deploy(world: World) -> None:
    client = world.target.client
    location_id = int(os.environ.get("PANEL_CONTRACT_LOCATION_ID") or world.node.location_id)
    server = world.create_server(deploy=DeploySpec(location_ids=(location_id,)))
    node = client.node_get(node_id=server.node_id)
    assert node.location_id == location_id
    found = client.server_get(server_id=server.id)
    assert found.primary_allocation is not None
    assert found.primary_allocation.id == server.allocation_id


def test_server_patch_details_build_startup(world: World) -> None:
    client = world.target.client
    external_id = unique()
    server = world.create_server(external_id=external_id)

    renamed = client.server_update_details(
        server_id=server.id,
        name="Renamed by contract",
        user_id=world.user_id,
        external_id=external_id,
        description="contract test",
    )
    assert (renamed.name, renamed.description, renamed.external_id) == (
        "Renamed by contract",
        "contract test",
        external_id,
    )

    new_limits = ServerLimits(memory=768, swap=0, disk=2048, io=500, cpu=100, oom_disabled=False)
    built = client.server_update_build(
        server_id=server.id,
        allocation_id=server.allocation_id,
        limits=new_limits,
        feature_limits=FeatureLimits(databases=0, allocations=1, backups=2),
    )
    assert built.limits == new_limits
    assert built.feature_limits == FeatureLimits(databases=0, allocations=1, backups=2)
    assert built.allocation_id == server.allocation_id

    env = world.egg.default_environment()
    changed_key = next(
        (v.env_variable for v in world.egg.variables if v.env_variable == "SERVER_JARFILE"),
        None,
    )
    if changed_key:
        env[changed_key] = "contract.jar"
    image = list(world.egg.docker_images.values())[-1]
    started = client.server_update_startup(
        server_id=server.id,
        startup=world.egg.startup,
        environment=env,
        egg_id=world.egg.id,
        image=image,
        skip_scripts=True,
    )
    assert started.docker_image == image
    for key, value in env.items():
        assert started.environment.get(key) == value
    assert client.server_get(server_id=server.id).environment == started.environment


def test_server_suspend_unsuspend_reinstall(world: World) -> None:
    client = world.target.client
    server = world.create_server()
    world.target.wait_installed(server.id)

    assert client.server_suspend(server_id=server.id) is None
    got = client.server_get(server_id=server.id)
    assert (got.status, got.suspended) == ("suspended", True)
    client.server_suspend(server_id=server.id)  # idempotent

    client.server_unsuspend(server_id=server.id)
    got = client.server_get(server_id=server.id)
    assert (got.status, got.suspended) == (None, False)

    client.server_suspend(server_id=server.id)
    client.server_reinstall(server_id=server.id)  # lifts the suspension
    got = client.server_get(server_id=server.id)
    if world.target.is_sandbox:
        assert got.status == "installing"
    else:  # a real Wings may already have reported the (script-less) reinstall
        assert got.status in {"installing", None}
    assert got.suspended is False


def test_server_delete_and_force_delete(world: World) -> None:
    client = world.target.client
    one = world.create_server()
    two = world.create_server()
    assert client.server_delete(server_id=one.id) is None
    assert client.server_delete(server_id=two.id, force=True) is None
    for s in (one, two):
        with pytest.raises(PanelNotFoundError):
            client.server_get(server_id=s.id)
        assert client.server_get_by_external_id(external_id=s.external_id or "") is None
    free = {a.id for a in client.allocations_list(node_id=world.node.id, free_only=True)}
    assert {one.allocation_id, two.allocation_id} <= free


def test_client_view_resources_power(world: World) -> None:
    target = world.target
    if not target.has_client_key:
        pytest.skip("PANEL_CONTRACT_CLIENT_KEY not set")
    client = target.client
    server = world.create_server()

    view = client.client_server_view(identifier=server.identifier)
    assert (view.internal_id, view.uuid, view.name) == (server.id, server.uuid, server.name)
    assert view.primary_allocation is not None
    assert view.primary_allocation.id == server.allocation_id
    if view.is_installing:
        with pytest.raises(PanelConflictError):
            client.client_server_resources(identifier=server.identifier)

    target.wait_installed(server.id)
    view = client.client_server_view(identifier=server.uuid)  # full uuid works too
    assert not view.is_installing and view.status is None
    res = client.client_server_resources(identifier=server.identifier)
    assert res.current_state in {"offline", "starting", "running", "stopping"}
    assert res.is_suspended is False

    client.client_power(identifier=server.identifier, signal="start")
    if target.is_sandbox:
        target.advance(21)  # past the panel's 20 s resources cache
        res = client.client_server_resources(identifier=server.identifier)
        assert res.current_state in {"starting", "running"}
    client.client_power(identifier=server.identifier, signal="kill")
    if target.is_sandbox:
        target.advance(21)
        res = client.client_server_resources(identifier=server.identifier)
        assert res.current_state == "offline"
        assert res.uptime_ms == 0

    client.server_suspend(server_id=server.id)
    with pytest.raises(PanelConflictError):
        client.client_server_resources(identifier=server.identifier)


# --- sandbox only -------------------------------------------------------------------------------


def test_sandbox_counters_match_client_calls(
    target: Target, request: pytest.FixtureRequest
) -> None:
    target.require_sandbox("call counters")
    world: World = request.getfixturevalue("world")
    sb = target.sandbox
    client = target.client
    external_id = unique()
    spec_alloc = world.free[0].id
    sb.reset_counters()

    assert client.server_get_by_external_id(external_id=external_id) is None
    server = world.create_server(external_id=external_id, allocation_id=spec_alloc)
    assert server.external_id == external_id

    counters = {k: v for k, v in sb.counters().items() if v}
    assert counters == {
        "GET /api/application/servers/external/{external_id}": 1,
        "POST /api/application/servers": 1,
    }


def test_sandbox_wings_down_create_rolls_back(
    target: Target, request: pytest.FixtureRequest
) -> None:
    target.require_sandbox("fault injection")
    world: World = request.getfixturevalue("world")
    target.sandbox.faults.wings_down = True
    external_id = unique()
    with pytest.raises(PanelServerError) as ei:
        world.create_server(external_id=external_id)
    assert ei.value.status == 504
    assert ei.value.code == "DaemonConnectionException"
    assert ei.value.outcome_unknown is True
    target.sandbox.faults.wings_down = False
    assert target.client.server_get_by_external_id(external_id=external_id) is None


def test_sandbox_allocation_race_is_server_error(
    target: Target, request: pytest.FixtureRequest
) -> None:
    target.require_sandbox("fault injection")
    world: World = request.getfixturevalue("world")
    target.sandbox.faults.allocation_race = 1
    with pytest.raises(PanelServerError) as ei:
        world.create_server()
    assert ei.value.status == 500
    assert ei.value.code in {"DataValidationException", "QueryException"}


def test_sandbox_rate_limit_429(target: Target) -> None:
    target.require_sandbox("fault injection")
    target.sandbox.faults.rate_limit = 2
    target.client.locations_list()
    target.client.locations_list()
    with pytest.raises(PanelRateLimitedError) as ei:
        target.client.locations_list()
    assert ei.value.retry_after is not None and 0 < ei.value.retry_after <= 60
    assert target.client.rate_limit is not None
    assert target.client.rate_limit.remaining == 0
    target.advance(61)
    assert target.client.locations_list()


def test_sandbox_dropped_after_commit_is_unknown_outcome(
    target: Target, request: pytest.FixtureRequest
) -> None:
    """The create committed but the answer was lost: the client says "outcome unknown", and the
    external-id lookup the provisioning service then does finds the server."""
    target.require_sandbox("fault injection")
    world: World = request.getfixturevalue("world")
    target.sandbox.faults.drop_after_commit_rate = 1.0
    external_id = unique()
    with pytest.raises(PanelConnectionError) as ei:
        world.create_server(external_id=external_id)
    assert ei.value.outcome_unknown is True
    target.sandbox.faults.drop_after_commit_rate = 0.0
    found = target.client.server_get_by_external_id(external_id=external_id)
    assert found is not None
    target.cleanup_server(found.id)
