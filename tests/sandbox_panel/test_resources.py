"""Users, locations, nodes (incl. deployable), allocations, nests/eggs (pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/{Users,Locations,Nodes,Nests}/ and their form requests)."""

from __future__ import annotations

import httpx

from sandbox.panel import PanelSandbox

from .conftest import errors, server_payload, single_error

USERNAME_MSG = (
    "The username must start and end with alpha-numeric characters and\n"
    "                contain only letters, numbers, dashes, underscores, and periods."
)


def new_user(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": "alice@example.com",
        "username": "Alice_01",
        "first_name": "Alice",
        "last_name": "Liddell",
    }
    body.update(kw)
    return body


# ----------------------------------------------------------------------------- users
def test_create_user_201_meta_and_lowercase(api: httpx.Client) -> None:
    r = api.post("/api/application/users", json=new_user(external_id="cus_1"))
    assert r.status_code == 201
    body = r.json()
    attrs = body["attributes"]
    assert body["object"] == "user"
    assert body["meta"] == {"resource": f"http://panel.test/api/application/users/{attrs['id']}"}
    assert attrs["username"] == "alice_01"
    assert attrs["external_id"] == "cus_1"
    assert attrs["language"] == "en" and attrs["root_admin"] is False and attrs["2fa"] is False
    assert set(attrs) == {
        "id",
        "external_id",
        "uuid",
        "username",
        "email",
        "first_name",
        "last_name",
        "language",
        "root_admin",
        "2fa",
        "created_at",
        "updated_at",
    }


def test_create_user_validation(api: httpx.Client) -> None:
    r = api.post("/api/application/users", json={})
    assert r.status_code == 422
    assert errors(r) == [
        ("email", "required", "The email field is required."),
        ("username", "required", "The username field is required."),
        ("first_name", "required", "The first name field is required."),
        ("last_name", "required", "The last name field is required."),
    ]
    r = api.post(
        "/api/application/users",
        json=new_user(username="ab", external_id=12, language="fr", email="nope"),
    )
    # Order = app/Models/User.php $validationRules key order (collect()->only() keeps it).
    assert errors(r) == [
        ("email", "email", "The email must be a valid email address."),
        ("external_id", "string", "The Third Party Identifier must be a string."),
        ("username", "p_username", USERNAME_MSG),
        ("language", "in", "The selected language is invalid."),
    ]
    assert api.post("/api/application/users", json=new_user(username="-abc")).status_code == 422


def test_user_uniqueness_case_insensitive(api: httpx.Client) -> None:
    assert api.post("/api/application/users", json=new_user(external_id="e1")).status_code == 201
    r = api.post(
        "/api/application/users",
        json=new_user(email="ALICE@example.com", username="ALICE_01", external_id="e1"),
    )
    assert errors(r) == [
        ("email", "unique", "The email has already been taken."),
        ("external_id", "unique", "The Third Party Identifier has already been taken."),
        ("username", "unique", "The username has already been taken."),
    ]


def test_get_user_by_external_id_is_exact(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.state.add_user("u112", "a@a.com", external_id="112")
    sb.state.add_user("u12", "b@b.com", external_id="12")
    r = api.get("/api/application/users/external/12")
    assert r.json()["attributes"]["username"] == "u12"
    assert api.get("/api/application/users/external/1").status_code == 404


def test_patch_user_requires_full_object(sb: PanelSandbox, api: httpx.Client) -> None:
    user = sb.state.add_user("bob", "bob@x.com", external_id="e9")
    r = api.patch(f"/api/application/users/{user['id']}", json={"email": "b2@x.com"})
    assert r.status_code == 422
    assert [e[0] for e in errors(r)] == ["username", "first_name", "last_name"]
    r = api.patch(
        f"/api/application/users/{user['id']}",
        json={"email": "bob@x.com", "username": "bob", "first_name": "B", "last_name": "C"},
    )
    assert r.status_code == 200
    assert r.json()["attributes"]["first_name"] == "B"
    assert r.json()["attributes"]["external_id"] == "e9"  # not sent: left alone


def test_delete_user_with_servers_refused(sb: PanelSandbox, api: httpx.Client) -> None:
    user = sb.state.add_user("bob", "bob@x.com")
    assert (
        api.post("/api/application/servers", json=server_payload(user=user["id"])).status_code
        == 201
    )
    r = api.delete(f"/api/application/users/{user['id']}")
    assert r.status_code == 400
    assert single_error(r) == (
        "DisplayException",
        "400",
        "Cannot delete a user with active servers attached to their account. Please delete their "
        "servers before continuing.",
    )
    server_id = api.get("/api/application/servers/external/order-1001").json()["attributes"]["id"]
    assert api.delete(f"/api/application/servers/{server_id}").status_code == 204
    r = api.delete(f"/api/application/users/{user['id']}")
    assert r.status_code == 204 and r.content == b""


# ----------------------------------------------------------------------------- locations
def test_locations_crud(api: httpx.Client) -> None:
    r = api.post("/api/application/locations", json={"short": "us-east"})
    # StoreLocationRequest::attributes(): 'short' => 'Location Identifier'.
    assert errors(r) == [("short", "unique", "The Location Identifier has already been taken.")]
    r = api.delete("/api/application/locations/1")
    assert single_error(r) == (
        "HasActiveNodesException",
        "400",
        "Cannot delete a location that has active nodes attached to it.",
    )
    new = api.post("/api/application/locations", json={"short": "ap", "long": "Tokyo"}).json()
    lid = new["attributes"]["id"]
    # UpdateLocationRequest extends StoreLocationRequest: short stays required on PATCH.
    r = api.patch(f"/api/application/locations/{lid}", json={"long": "Osaka"})
    assert errors(r) == [("short", "required", "The Location Identifier field is required.")]
    r = api.patch(f"/api/application/locations/{lid}", json={"short": "ap", "long": "Osaka"})
    assert r.json()["attributes"]["long"] == "Osaka"
    assert (
        api.get("/api/application/locations?filter[long]=osa").json()["meta"]["pagination"]["total"]
        == 1
    )
    assert api.delete(f"/api/application/locations/{lid}").status_code == 204


# ----------------------------------------------------------------------------- nodes
def test_node_attributes_and_allocated_resources(api: httpx.Client) -> None:
    api.post("/api/application/servers", json=server_payload())
    attrs = api.get("/api/application/nodes/1").json()["attributes"]
    assert attrs["allocated_resources"] == {"memory": 2048, "disk": 10240}
    assert attrs["public"] is True and attrs["memory_overallocate"] == 0
    assert attrs["location_id"] == 1 and attrs["daemon_listen"] == 8080
    r = api.get("/api/application/nodes?include=location&sort=-memory")
    data = r.json()["data"]
    assert data[0]["attributes"]["relationships"]["location"]["object"] == "location"


def test_node_create_and_delete(api: httpx.Client) -> None:
    body = {
        "name": "lon-1",
        "location_id": 2,
        "fqdn": "lon-1.test",
        "scheme": "https",
        "memory": 8192,
        "memory_overallocate": 0,
        "disk": 100000,
        "disk_overallocate": 0,
        "daemon_listen": 8080,
        "daemon_sftp": 2022,
    }
    r = api.post("/api/application/nodes", json=body)
    assert r.status_code == 201
    nid = r.json()["attributes"]["id"]
    assert r.json()["meta"]["resource"].endswith(f"/api/application/nodes/{nid}")
    r = api.post("/api/application/nodes", json={**body, "location_id": 99, "name": "bad/name"})
    assert [e[:2] for e in errors(r)] == [("name", "regex"), ("location_id", "exists")]
    assert api.delete(f"/api/application/nodes/{nid}").status_code == 204


def test_deployable_nodes(sb: PanelSandbox, api: httpx.Client) -> None:
    r = api.get("/api/application/nodes/deployable?memory=1024&disk=1024")
    assert r.status_code == 200
    body = r.json()
    assert "meta" not in body and [n["attributes"]["id"] for n in body["data"]] == [1, 2, 3]
    assert body["data"][0]["attributes"]["sum_memory"] == 0
    r = api.get("/api/application/nodes/deployable?memory=1024&disk=1024&location_ids[]=2&page=1")
    assert [n["attributes"]["id"] for n in r.json()["data"]] == [3]
    assert r.json()["meta"]["pagination"]["total"] == 1
    r = api.get("/api/application/nodes/deployable?memory=40000&disk=1")
    assert single_error(r) == (
        "NoViableNodeException",
        "400",
        "No nodes satisfying the requirements specified for automatic deployment could be found.",
    )
    r = api.get("/api/application/nodes/deployable")
    assert [e[:2] for e in errors(r)] == [("memory", "required"), ("disk", "required")]
    # -1 overallocate means 99 %, not "unlimited"
    sb.state.nodes[2]["memory_overallocate"] = -1
    r = api.get("/api/application/nodes/deployable?memory=16384&disk=1&location_ids[]=1")
    assert [n["attributes"]["id"] for n in r.json()["data"]] == [1]
    sb.state.nodes[2]["public"] = False
    r = api.get("/api/application/nodes/deployable?memory=1&disk=1&location_ids[]=1")
    assert [n["attributes"]["id"] for n in r.json()["data"]] == [1]


# ----------------------------------------------------------------------------- allocations
def test_allocation_filters(api: httpx.Client) -> None:
    api.post("/api/application/servers", json=server_payload())  # takes allocation 1
    base = "/api/application/nodes/1/allocations"
    total = lambda q: api.get(base + q).json()["meta"]["pagination"]["total"]  # noqa: E731
    assert total("") == 40
    assert total("?filter[server_id]=0") == 39
    assert total("?filter[server_id]=false") == 39
    assert total("?filter[server_id]=") == 40
    assert total("?filter[server_id]=1") == 1
    assert total("?filter[port]=25565,25566,99") == 2
    assert total("?filter[port]=2556") == 0  # exact
    assert total("?filter[ip]=203.0.113.1") == 0  # exact
    r = api.get(base + "?filter[port]=25565&include=server")
    a = r.json()["data"][0]["attributes"]
    assert a["assigned"] is True
    assert a["relationships"]["server"]["attributes"]["external_id"] == "order-1001"
    free = api.get(base + "?filter[port]=25566&include=server").json()["data"][0]["attributes"]
    assert free["relationships"]["server"] == {"object": "null_resource", "attributes": None}
    assert api.get(base + "?filter[notes]=x").status_code == 400


def test_create_allocations(api: httpx.Client) -> None:
    base = "/api/application/nodes/2/allocations"
    r = api.post(
        base, json={"ip": "203.0.113.21", "ports": ["30000", "30010-30012"], "alias": "mc"}
    )
    assert r.status_code == 204 and r.content == b""
    got = api.get(base + "?filter[ip]=203.0.113.21").json()["data"]
    assert [a["attributes"]["port"] for a in got] == [30000, 30010, 30011, 30012]
    assert got[0]["attributes"]["alias"] == "mc"
    # existing rows silently skipped
    assert api.post(base, json={"ip": "203.0.113.21", "ports": ["30000"]}).status_code == 204
    assert api.get(base + "?filter[ip]=203.0.113.21").json()["meta"]["pagination"]["total"] == 4
    r = api.post(base, json={"ip": "203.0.113.21", "ports": [30001]})
    assert errors(r) == [("ports.0", "string", "The ports.0 must be a string.")]
    cases = {
        "80": "PortOutOfRangeException",
        "1024": "PortOutOfRangeException",
        "20000-21001": "TooManyPortsInRangeException",
        "abc": "InvalidPortMappingException",
    }
    for port, code in cases.items():
        r = api.post(base, json={"ip": "203.0.113.21", "ports": [port]})
        assert r.status_code == 400 and single_error(r)[0] == code
    r = api.post(base, json={"ip": "203.0.113.0/24", "ports": ["30000"]})
    assert single_error(r)[0] == "CidrOutOfRangeException"
    assert api.post(base, json={"ip": "203.0.113.128/30", "ports": ["30000"]}).status_code == 204
    assert api.get(base + "?filter[port]=30000").json()["meta"]["pagination"]["total"] == 5


def test_delete_allocation(api: httpx.Client) -> None:
    api.post("/api/application/servers", json=server_payload())
    r = api.delete("/api/application/nodes/1/allocations/1")
    assert r.status_code == 400
    assert single_error(r)[0] == "ServerUsingAllocationException"
    assert api.delete("/api/application/nodes/2/allocations/2").status_code == 404  # wrong node
    assert api.delete("/api/application/nodes/1/allocations/2").status_code == 204


# ----------------------------------------------------------------------------- nests / eggs
def test_nests_and_eggs(api: httpx.Client) -> None:
    r = api.get("/api/application/nests")
    assert [n["attributes"]["name"] for n in r.json()["data"]] == [
        "Minecraft",
        "Source Engine",
        "Voice Servers",
        "Rust",
    ]
    assert r.json()["meta"]["pagination"]["per_page"] == 50
    r = api.get("/api/application/nests/1/eggs?include=variables")
    body = r.json()
    assert "meta" not in body and body["object"] == "list"
    assert [e["attributes"]["name"] for e in body["data"]] == [
        "Bungeecord",
        "Forge Minecraft",
        "Paper",
        "Sponge (SpongeVanilla)",
        "Vanilla Minecraft",
    ]
    assert api.get("/api/application/nests/2/eggs/3").status_code == 404  # scoped binding
    r = api.get("/api/application/nests/1/eggs/3?include=variables,nest,config,script")
    attrs = r.json()["attributes"]
    assert attrs["docker_image"] == "ghcr.io/pterodactyl/yolks:java_21"
    assert attrs["docker_images"]["Java 17"] == "ghcr.io/pterodactyl/yolks:java_17"
    assert attrs["nest"] == 1
    assert attrs["config"]["startup"] == {"done": ")! For help, type "}
    rel = attrs["relationships"]
    assert rel["config"] == {"object": "null_resource", "attributes": None}
    assert rel["script"] == {"object": "null_resource", "attributes": None}
    assert rel["nest"]["object"] == "nest"
    var = rel["variables"]["data"][1]
    assert var["object"] == "egg_variable"
    assert var["attributes"]["env_variable"] == "SERVER_JARFILE"
    assert var["attributes"]["rules"] == r"required|regex:/^([\w\d._-]+)(\.jar)$/"
    assert var["attributes"]["created_at"].endswith(".000000Z")
    # old-format eggs: label == image
    gmod = api.get("/api/application/nests/2/eggs/9").json()["attributes"]
    assert gmod["docker_images"] == {
        "ghcr.io/pterodactyl/games:source": "ghcr.io/pterodactyl/games:source"
    }
