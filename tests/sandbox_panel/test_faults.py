"""Fault knobs, the admin endpoint, counters, real-HTTP drops/timeouts and a real thread race."""

from __future__ import annotations

import threading

import httpx
import pytest

from sandbox.panel import DroppedConnection, PanelSandbox

from .conftest import make_client, server_payload, single_error

S = "/api/application/servers"
WINGS = "Could not establish a connection to the machine running this server. Please try again."


def test_wings_down(sb: PanelSandbox, api: httpx.Client) -> None:
    created = api.post(S, json=server_payload(external_id="keep")).json()["attributes"]
    sb.faults.wings_down = True
    r = api.post(S, json=server_payload(external_id="lost", allocation={"default": 2}))
    assert r.status_code == 504
    assert single_error(r) == ("DaemonConnectionException", "504", WINGS)
    assert api.get(f"{S}/external/lost").status_code == 404  # rolled back
    assert sb.state.allocations[2]["server_id"] is None
    url = f"{S}/{created['id']}"
    for action in ("suspend", "reinstall"):
        assert api.post(f"{url}/{action}").status_code == 504
    assert api.get(url).json()["attributes"]["status"] is None  # unchanged
    assert api.delete(url).status_code == 504
    limits = {"memory": 1, "swap": 0, "disk": 1, "io": 500, "cpu": 0}
    r = api.patch(
        f"{url}/build",
        json={"allocation": 1, "limits": limits, "feature_limits": {"databases": 0, "backups": 0}},
    )
    assert r.status_code == 200
    startup = {"startup": "x", "environment": {}, "egg": 3, "image": "img", "skip_scripts": False}
    assert api.patch(f"{url}/startup", json=startup).status_code == 200
    sb.faults.wings_down = False
    api.post(f"{url}/suspend")
    sb.faults.wings_down = True
    assert api.post(f"{url}/unsuspend").status_code == 504
    assert api.get(url).json()["attributes"]["status"] == "suspended"
    assert api.delete(f"{url}/force").status_code == 204


def test_allocation_race_knob(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.allocation_race = 1
    r = api.post(S, json=server_payload())
    assert r.status_code == 500
    code, status, detail = single_error(r)
    assert (code, status) == ("DataValidationException", "500")
    assert detail.startswith(
        "Could not save Pterodactyl\\Models\\Server[]: failed to validate data: "
    )
    assert "allocation_id" in detail
    phantom = sb.state.servers[1]
    assert phantom["allocation_id"] == 1 and phantom["external_id"] is None
    assert phantom["owner_id"] == 1
    assert api.get(f"{S}/external/order-1001").status_code == 404
    r = api.post(S, json=server_payload(allocation={"default": 2}))
    assert r.status_code == 201  # only the next N creates lose


def test_error_rate_and_generic_detail(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.error_rate = 1.0
    r = api.post(S, json=server_payload())
    assert r.status_code == 500
    assert single_error(r)[2] == (
        "An unexpected error was encountered while processing this request, please try again."
    )
    sb.faults.error_rate = 0.0
    assert api.get(f"{S}/external/order-1001").status_code == 404  # nothing was done


def test_drop_after_commit_over_wsgi(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.drop_after_commit_rate = 1.0
    with pytest.raises(DroppedConnection):
        api.post(S, json=server_payload())
    assert api.get(f"{S}/external/order-1001").status_code == 200  # it was committed


def test_admin_endpoint_and_counters(sb: PanelSandbox, api: httpx.Client) -> None:
    with make_client(sb) as c:
        api.get("/api/application/users")
        api.get("/api/application/users/999")
        api.get(f"{S}/external/x")
        api.get("/api/application/nodes/1/allocations")
        api.post(S, json={})
        api.get("/api/application/nope")
        with make_client(sb, key="ptla_bad000000000" + "x" * 32) as bad:
            bad.get("/api/application/users")
        r = c.get("/_sandbox/counters")
        assert r.json() == {
            "GET /api/application/users": 2,
            "GET /api/application/users/{user}": 1,
            "GET /api/application/servers/external/{external_id}": 1,
            "GET /api/application/nodes/{node}/allocations": 1,
            "POST /api/application/servers": 1,
            "GET <unmatched>": 1,
        }
        assert sb.counters() == r.json()  # the admin endpoint itself is not counted
        r = c.put("/_sandbox/faults", json={"wings_down": True, "rate_limit": 10})
        assert r.status_code == 200 and r.json()["wings_down"] is True
        assert sb.faults.rate_limit == 10
        assert c.put("/_sandbox/faults", json={"nope": 1}).status_code == 400
        assert c.put("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
        assert c.get("/_sandbox/faults").json()["install_mode"] == "succeed"
        assert c.post("/_sandbox/counters/reset").status_code == 204
        assert sb.counters() == {}
        api.post("/api/application/locations", json={"short": "zz"})
        assert c.post("/_sandbox/reset").status_code == 204
        assert api.get("/api/application/locations").json()["meta"]["pagination"]["total"] == 2
    with make_client(sb, key=sb.client_key) as other:
        assert other.get("/_sandbox/counters").status_code == 401


def test_admin_endpoint_not_rate_limited(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.rate_limit = 1
    api.get("/api/application/users")
    for _ in range(3):
        assert api.get("/_sandbox/faults").status_code == 200
    assert api.get("/api/application/users").status_code == 429


# ----------------------------------------------------------------------------- real HTTP
def test_drop_after_commit_closes_socket(sb: PanelSandbox, served: str) -> None:
    sb.faults.drop_after_commit_rate = 1.0
    headers = {"Authorization": f"Bearer {sb.app_key}", "Accept": "application/json"}
    with httpx.Client(base_url=served, headers=headers, timeout=5) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.post(S, json=server_payload())
        sb.faults.drop_after_commit_rate = 0.0
        assert c.get(f"{S}/external/order-1001").status_code == 200


def test_timeout_fault(sb: PanelSandbox, served: str) -> None:
    sb.faults.timeout_rate = 1.0
    sb.faults.timeout_seconds = 0.5
    headers = {"Authorization": f"Bearer {sb.app_key}", "Accept": "application/json"}
    with httpx.Client(base_url=served, headers=headers, timeout=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.post(S, json=server_payload())
    sb.faults.timeout_rate = 0.0
    with httpx.Client(base_url=served, headers=headers, timeout=5) as c:
        assert c.get(f"{S}/external/order-1001").status_code == 404  # not processed


def test_two_threads_race_one_allocation(sb: PanelSandbox, served: str) -> None:
    sb.faults.race_window = 0.3
    headers = {"Authorization": f"Bearer {sb.app_key}", "Accept": "application/json"}
    results: list[httpx.Response] = []
    barrier = threading.Barrier(2)

    def worker(ext: str) -> None:
        with httpx.Client(base_url=served, headers=headers, timeout=10) as c:
            barrier.wait()
            results.append(c.post(S, json=server_payload(external_id=ext)))

    threads = [threading.Thread(target=worker, args=(f"race-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [201, 500], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 500)
    assert single_error(loser)[0] == "DataValidationException"
    assert len(sb.state.servers) == 1
