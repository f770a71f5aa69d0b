"""Servers with several ports: allocation.additional on create (pterodactyl/panel v1.11.8
app/Http/Requests/Api/Application/Servers/StoreServerRequest.php, each additional id an
unassigned allocation; app/Services/Servers/ServerCreationService.php
storeAssignedAllocations), and Wings' side: a server whose port variables name a port it does
not own fails to start (sandbox/panel/ports.py)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.panel import PanelSandbox
from sandbox.panel.ports import port_mismatches, port_variables

from .conftest import errors, make_client, server_payload

OWNER_KEY = "ptlc_PortOwner01" + "f" * 32
RUST = 14


def _alloc(sb: PanelSandbox, port: int, node: int = 1) -> int:
    return next(
        a["id"] for a in sb.state.allocations.values() if a["node_id"] == node and a["port"] == port
    )


def _rust(sb: PanelSandbox, *, ports: dict[str, int], default: int, additional: list[int]) -> dict:
    egg = sb.state.eggs[RUST]
    env = {v["env_variable"]: v["default_value"] for v in egg["variables"]}
    env.update({"RCON_PASS": "secret-rcon", **{k: str(v) for k, v in ports.items()}})
    return server_payload(
        egg=RUST,
        docker_image=next(iter(egg["docker_images"].values())),
        startup=egg["startup"],
        environment=env,
        allocation={"default": default, "additional": additional},
        start_on_completion=True,
    )


@pytest.fixture
def owner(sb: PanelSandbox) -> dict:
    user = sb.state.add_user("porty", "porty@x.com")
    sb.state.add_api_key(user["id"], OWNER_KEY, kind="account")
    return user


def test_the_rust_eggs_port_variables(sb: PanelSandbox) -> None:
    egg = sb.state.eggs[RUST]
    assert port_variables(egg["startup"], egg["variables"]) == [
        "QUERY_PORT",
        "RCON_PORT",
        "APP_PORT",
    ]


def test_additional_allocations_are_the_servers_and_matching_ports_start(
    sb: PanelSandbox, api: httpx.Client, owner: dict
) -> None:
    ids = [_alloc(sb, p) for p in (28015, 28016, 28024)]
    body = _rust(
        sb,
        ports={"QUERY_PORT": 28016, "RCON_PORT": 28016, "APP_PORT": 28024},
        default=ids[0],
        additional=ids[1:],
    )
    body["user"] = owner["id"]
    r = api.post("/api/application/servers", json=body)
    assert r.status_code == 201, r.text
    server = sb.state.servers[r.json()["attributes"]["id"]]
    assert sorted(a["id"] for a in sb.state.server_allocations(server["id"])) == sorted(ids)
    assert server["allocation_id"] == ids[0]
    sb.state.complete_installs()
    assert (server["power"], server.get("start_error")) == ("running", None)


def test_a_port_variable_naming_a_port_the_server_does_not_own_fails_to_start(
    sb: PanelSandbox, api: httpx.Client, owner: dict
) -> None:
    ids = [_alloc(sb, p) for p in (28015, 28016)]
    body = _rust(
        sb,
        ports={"QUERY_PORT": 28016, "RCON_PORT": 28016, "APP_PORT": 28082},
        default=ids[0],
        additional=ids[1:],
    )
    body["user"] = owner["id"]
    r = api.post("/api/application/servers", json=body)
    assert r.status_code == 201, r.text
    server = sb.state.servers[r.json()["attributes"]["id"]]
    missing = "APP_PORT=28082 is not an allocation of this server"
    assert port_mismatches(sb.state, server) == [missing]
    sb.state.complete_installs()  # start_on_completion: Wings starts it, the game fails
    assert server["power"] == "offline"
    assert server["start_error"] == missing
    # A power start shows 'starting', then 'offline' again.
    identifier = server["uuid"][:8]
    sb.faults.resources_cache_seconds = 0
    with make_client(sb, key=OWNER_KEY) as c:
        assert (
            c.post(f"/api/client/servers/{identifier}/power", json={"signal": "start"}).status_code
            == 204
        )
        states = [
            c.get(f"/api/client/servers/{identifier}/resources").json()["attributes"][
                "current_state"
            ]
            for _ in range(2)
        ]
    assert states == ["starting", "offline"]


def test_an_additional_allocation_held_by_another_server_is_refused(
    sb: PanelSandbox, api: httpx.Client, owner: dict
) -> None:
    first = [_alloc(sb, p) for p in (28015, 28016, 28024)]
    body = _rust(
        sb,
        ports={"QUERY_PORT": 28016, "RCON_PORT": 28016, "APP_PORT": 28024},
        default=first[0],
        additional=first[1:],
    )
    body["user"] = owner["id"]
    assert api.post("/api/application/servers", json=body).status_code == 201
    body = _rust(
        sb,
        ports={"QUERY_PORT": 28018, "RCON_PORT": 28018, "APP_PORT": 28024},
        default=_alloc(sb, 28017),
        additional=[_alloc(sb, 28018), first[2]],
    )
    body.update(user=owner["id"], external_id="order-1002")
    r = api.post("/api/application/servers", json=body)
    assert r.status_code == 422
    assert errors(r) == [
        ("allocation.additional.1", "exists", "The selected allocation.additional.1 is invalid.")
    ]
    assert len(sb.state.servers) == 1
