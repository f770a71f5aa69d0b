"""Client API: view, resources (409 rules), power (pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Client/Servers/, app/Http/Middleware/Api/Client/Server/
AuthenticateServerAccess.php)."""

from __future__ import annotations

from typing import Any

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
    sb.faults.resources_cache_seconds = 0  # every read asks "Wings" (the cache: test below)
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


def test_resources_cached_20_seconds_across_power(
    sb: PanelSandbox, server: dict, clock: Any
) -> None:
    """ResourceUtilizationController v1.11.8: ``remember("resources:$uuid", 20 s)``, not
    forgotten by a power signal; the state machine moves on the next Wings read."""
    sb.state.complete_installs()
    url = f"/api/client/servers/{server['identifier']}"
    with make_client(sb, key=OWNER_KEY) as c:

        def state() -> str:
            return c.get(f"{url}/resources").json()["attributes"]["current_state"]

        assert state() == "offline"
        assert c.post(f"{url}/power", json={"signal": "start"}).status_code == 204
        clock.advance(19.9)
        assert state() == "offline"  # still the cached answer
        clock.advance(0.2)
        assert state() == "starting"
        clock.advance(20.1)
        assert state() == "running"
        assert c.post(f"{url}/power", json={"signal": "kill"}).status_code == 204
        clock.advance(20.1)
        assert state() == "offline"


@pytest.mark.parametrize("body", [{}, {"signal": ""}, {"signal": "START"}, {"signal": ["start"]}])
def test_power_bad_signal_422_changes_nothing(sb: PanelSandbox, server: dict, body: dict) -> None:
    """SendPowerRequest v1.11.8: ``signal`` => ``required|string|in:start,stop,restart,kill``."""
    sb.state.complete_installs()
    before = dict(sb.state.servers[server["id"]])
    with make_client(sb, key=OWNER_KEY) as c:
        r = c.post(f"/api/client/servers/{server['identifier']}/power", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "ValidationException"
    assert r.json()["errors"][0]["meta"]["source_field"] == "signal"
    assert sb.state.servers[server["id"]] == before


def test_power_stranger_404_and_suspended_409(
    sb: PanelSandbox, api: httpx.Client, server: dict
) -> None:
    sb.state.complete_installs()
    url = f"/api/client/servers/{server['identifier']}/power"
    with make_client(sb, key=STRANGER_KEY) as c:
        r = c.post(url, json={"signal": "start"})
    assert r.status_code == 404
    assert sb.state.servers[server["id"]]["power"] == "offline"
    api.post(f"/api/application/servers/{server['id']}/suspend")
    with make_client(sb, key=OWNER_KEY) as c:
        r = c.post(url, json={"signal": "start"})
    assert single_error(r)[:2] == ("ServerStateConflictException", "409")
    assert sb.state.servers[server["id"]]["power"] == "offline"


def test_login_page_and_server_page(sb: PanelSandbox, api: httpx.Client, server: dict) -> None:
    """web.py: a password set with PATCH /users/{id} logs in; the server page is the owner's."""
    owner = sb.state.servers[server["id"]]["owner_id"]
    user = api.get(f"/api/application/users/{owner}").json()["attributes"]
    fields = {k: user[k] for k in ("email", "username", "first_name", "last_name")}
    r = api.patch(f"/api/application/users/{owner}", json={**fields, "password": "s3cret-pass!"})
    assert r.status_code == 200
    assert "s3cret-pass!" not in str(sb.state.users[owner])
    page = f"/server/{server['identifier']}"
    with httpx.Client(transport=httpx.WSGITransport(app=sb.app), base_url="http://panel.test") as b:
        r = b.get(page)
        assert (r.status_code, r.headers["location"]) == (302, f"/auth/login?next={page}")
        r = b.post("/auth/login", data={"user": "owner", "password": "wrong", "next": page})
        assert r.status_code == 422 and "do not match our records" in r.text
        assert b.get(page).status_code == 302
        r = b.post(
            "/auth/login", data={"user": fields["email"], "password": "s3cret-pass!", "next": page}
        )
        assert (r.status_code, r.headers["location"]) == (302, page)
        r = b.get(page)
        assert r.status_code == 200 and server["identifier"] in r.text
        assert b.get("/server/zzzzzzzz").status_code == 404
    # An empty password leaves the stored hash alone (UserUpdateService).
    stored = sb.state.users[owner]["password"]
    api.patch(f"/api/application/users/{owner}", json={**fields, "password": ""})
    assert sb.state.users[owner]["password"] == stored
