"""Client API: view, resources (409 rules), power (pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Client/Servers/, app/Http/Middleware/Api/Client/Server/
AuthenticateServerAccess.php)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.panel import PanelSandbox

from .conftest import make_client, server_payload, single_error

OWNER_KEY = "ptlc_OwnerKey001" + "d" * 32
STRANGER_KEY = "ptlc_Stranger001" + "e" * 32


@pytest.fixture
def server(sb: PanelSandbox, api: httpx.Client) -> dict:
    owner = sb.state.add_user("owner", "owner@x.com")
    sb.state.add_api_key(owner["id"], OWNER_KEY, kind="account")
    stranger = sb.state.add_user("stranger", "s@x.com")
    sb.state.add_api_key(stranger["id"], STRANGER_KEY, kind="account")
    sb.faults.install_mode = "never"
    payload = server_payload(user=owner["id"], allocation={"default": 1, "additional": [2]})
    return api.post("/api/application/servers", json=payload).json()["attributes"]


def test_view_shape_while_installing(sb: PanelSandbox, server: dict) -> None:
    with make_client(sb, key=OWNER_KEY) as c:
        r = c.get(f"/api/client/servers/{server['identifier']}")
    assert r.status_code == 200
    body = r.json()
    assert body["meta"] == {"is_server_owner": True, "user_permissions": ["*"]}
    a = body["attributes"]
    assert a["internal_id"] == server["id"] and a["uuid"] == server["uuid"]
    assert a["node"] == "ny-1" and a["is_installing"] is True and a["status"] == "installing"
    assert a["sftp_details"] == {"ip": "ny-1.nodes.givrwrld.test", "port": 2022}
    assert a["invocation"] == "java -Xms128M -XX:MaxRAMPercentage=95.0 -jar server.jar"
    allocs = a["relationships"]["allocations"]["data"]
    assert [(x["attributes"]["port"], x["attributes"]["is_default"]) for x in allocs] == [
        (25565, True),
        (25566, False),
    ]
    assert set(allocs[0]["attributes"]) == {"id", "ip", "ip_alias", "port", "notes", "is_default"}
    names = [v["attributes"]["env_variable"] for v in a["relationships"]["variables"]["data"]]
    assert "DL_PATH" not in names  # not user_viewable


def test_access_rules(sb: PanelSandbox, server: dict) -> None:
    with make_client(sb, key=STRANGER_KEY) as c:
        assert c.get(f"/api/client/servers/{server['identifier']}").status_code == 404
    with make_client(sb, key=sb.client_key) as c:  # root admin opens any server, by uuid too
        r = c.get(f"/api/client/servers/{server['uuid']}")
        assert r.status_code == 200
        assert r.json()["meta"]["is_server_owner"] is False


def test_resources_409_messages_then_power(
    sb: PanelSandbox, api: httpx.Client, server: dict
) -> None:
    url = f"/api/client/servers/{server['identifier']}"
    with make_client(sb, key=OWNER_KEY) as c:
        r = c.get(f"{url}/resources")
        assert r.status_code == 409
        assert single_error(r) == (
            "ServerStateConflictException",
            "409",
            "This server has not yet completed its installation process, please try again later.",
        )
        assert c.post(f"{url}/power", json={"signal": "start"}).status_code == 409
        sb.state.complete_installs()
        r = c.get(f"{url}/resources")
        assert r.status_code == 200
        stats = r.json()
        assert stats["object"] == "stats"
        assert stats["attributes"]["current_state"] == "offline"
        assert stats["attributes"]["resources"]["memory_bytes"] == 0
        assert stats["attributes"]["resources"]["disk_bytes"] > 0
        r = c.post(f"{url}/power", json={"signal": "fly"})
        assert r.json()["errors"][0]["meta"] == {"source_field": "signal", "rule": "in"}
        assert c.post(f"{url}/power", json={"signal": "start"}).status_code == 204
        states = [c.get(f"{url}/resources").json()["attributes"]["current_state"] for _ in "ab"]
        assert states == ["starting", "running"]
        c.post(f"{url}/power", json={"signal": "stop"})
        states = [c.get(f"{url}/resources").json()["attributes"]["current_state"] for _ in "ab"]
        assert states == ["stopping", "offline"]
        c.post(f"{url}/power", json={"signal": "restart"})
        c.post(f"{url}/power", json={"signal": "kill"})
        assert c.get(f"{url}/resources").json()["attributes"]["current_state"] == "offline"
        api.post(f"/api/application/servers/{server['id']}/suspend")
        r = c.get(f"{url}/resources")
        assert single_error(r)[2] == (
            "This server is currently suspended and the functionality requested is unavailable."
        )
        assert c.get(url).status_code == 200  # view always allowed
        api.post(f"/api/application/servers/{server['id']}/unsuspend")
        sb.state.nodes[1]["maintenance_mode"] = True
        assert single_error(c.get(f"{url}/resources"))[2].startswith(
            "The node of this server is currently under maintenance"
        )


def test_install_failed_409_reinstall_failed_ok(
    sb: PanelSandbox, api: httpx.Client, server: dict
) -> None:
    sb.state.complete_installs(mode="fail")
    with make_client(sb, key=OWNER_KEY) as c:
        url = f"/api/client/servers/{server['identifier']}/resources"
        assert c.get(url).status_code == 409
        sb.state.servers[server["id"]]["status"] = "reinstall_failed"
        assert c.get(url).status_code == 200


def test_start_on_completion_runs_after_install(sb: PanelSandbox, api: httpx.Client) -> None:
    payload = server_payload(start_on_completion=True)
    created = api.post("/api/application/servers", json=payload).json()["attributes"]
    with make_client(sb, key=sb.client_key) as c:
        r = c.get(f"/api/client/servers/{created['identifier']}/resources")
        assert r.json()["attributes"]["current_state"] == "running"
