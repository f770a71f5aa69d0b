"""Servers: create (validation, order, deploy, env), updates, status machine, delete
(pterodactyl/panel v1.11.8 app/Http/Controllers/Api/Application/Servers/, app/Services/Servers/)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.panel import PanelSandbox

from .conftest import PAPER_ENV, errors, server_payload, single_error

S = "/api/application/servers"


def create(api: httpx.Client, **kw: object) -> dict:
    r = api.post(S, json=server_payload(**kw))
    assert r.status_code == 201, r.text
    return r.json()["attributes"]


def test_create_201_shape(api: httpx.Client) -> None:
    r = api.post(S, json=server_payload(nest=99, node=3))  # nest/node are ignored
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"object", "attributes"}  # no meta on servers
    a = body["attributes"]
    assert a["status"] == "installing" and a["suspended"] is False
    assert a["identifier"] == a["uuid"][:8]
    assert (a["user"], a["node"], a["allocation"], a["nest"], a["egg"]) == (1, 1, 1, 1, 3)
    assert a["limits"] == {
        "memory": 2048,
        "swap": 0,
        "disk": 10240,
        "io": 500,
        "cpu": 200,
        "threads": None,
        "oom_disabled": True,
    }
    assert a["feature_limits"] == {"databases": 0, "allocations": 0, "backups": 0}
    assert a["description"] == ""
    c = a["container"]
    assert c["installed"] == 0 and c["image"] == "ghcr.io/pterodactyl/yolks:java_21"
    assert c["environment"] == {
        "MINECRAFT_VERSION": "latest",
        "SERVER_JARFILE": "server.jar",
        "DL_PATH": "",
        "BUILD_NUMBER": "latest",
        "STARTUP": c["startup_command"],
        "P_SERVER_LOCATION": "us-east",
        "P_SERVER_UUID": a["uuid"],
        "P_SERVER_ALLOCATION_LIMIT": 0,
    }


def test_create_validation_reports_every_field(api: httpx.Client) -> None:
    r = api.post(S, json={})
    assert r.status_code == 422
    assert errors(r) == [
        ("name", "required", "The name field is required."),
        ("user", "required", "The user field is required."),
        ("egg", "required", "The egg field is required."),
        ("docker_image", "required", "The docker image field is required."),
        ("startup", "required", "The startup field is required."),
        ("environment", "present", "The environment field must be present."),
        ("limits", "required", "The limits field is required."),
        ("limits.memory", "required", "The limits.memory field is required."),
        ("limits.swap", "required", "The limits.swap field is required."),
        ("limits.disk", "required", "The limits.disk field is required."),
        ("limits.io", "required", "The limits.io field is required."),
        ("limits.cpu", "required", "The limits.cpu field is required."),
        ("feature_limits", "required", "The feature limits field is required."),
        (
            "feature_limits.databases",
            "present",
            "The feature limits.databases field must be present.",
        ),
        ("feature_limits.backups", "present", "The feature limits.backups field must be present."),
        ("allocation.default", "required", "The allocation.default field is required."),
    ]


def test_create_type_rules(api: httpx.Client) -> None:
    r = api.post(
        S,
        json=server_payload(
            external_id=123,
            user=99,
            egg=99,
            docker_image="bad$image",
            limits={"memory": "1k", "swap": -2, "disk": 0, "io": 5, "cpu": 0, "threads": "a"},
            feature_limits={"databases": None, "backups": -1},
            allocation={"default": 1, "additional": ["x"]},
        ),
    )
    assert errors(r) == [
        ("external_id", "string", "The external id must be a string."),
        ("user", "exists", "The selected user is invalid."),
        ("egg", "exists", "The selected egg is invalid."),
        ("docker_image", "regex", "The docker image format is invalid."),
        ("limits.memory", "numeric", "The limits.memory must be a number."),
        ("limits.swap", "min", "The limits.swap must be at least -1."),
        ("limits.io", "between", "The limits.io must be between 10 and 1000."),
        ("limits.threads", "regex", "The limits.threads format is invalid."),
        ("feature_limits.backups", "min", "The feature limits.backups must be at least 0."),
        ("allocation.additional.0", "integer", "The allocation.additional.0 must be an integer."),
        ("allocation.additional.0", "exists", "The selected allocation.additional.0 is invalid."),
    ]


def test_numeric_strings_accepted_and_nulls_become_zero(api: httpx.Client) -> None:
    a = create(
        api,
        limits={"memory": "1024", "swap": "0", "disk": "2048", "io": "500", "cpu": "100"},
        feature_limits={"databases": None, "backups": None},
        oom_disabled=False,
        description="  ",
    )
    assert a["limits"]["memory"] == 1024
    assert a["limits"]["oom_disabled"] is False
    assert a["feature_limits"] == {"databases": 0, "allocations": 0, "backups": 0}
    assert a["description"] == ""


def test_external_id_unique_and_allocation_taken(api: httpx.Client) -> None:
    create(api)
    r = api.post(S, json=server_payload(allocation={"default": 2}))
    assert errors(r) == [("external_id", "unique", "The external id has already been taken.")]
    r = api.post(S, json=server_payload(external_id="order-1002"))
    assert errors(r) == [
        ("allocation.default", "exists", "The selected allocation.default is invalid.")
    ]
    r = api.post(S, json=server_payload(external_id="order-1002", allocation={"default": 9999}))
    assert errors(r)[0][:2] == ("allocation.default", "exists")


def test_env_validation_after_request_validation(api: httpx.Client) -> None:
    r = api.post(S, json=server_payload(environment={}))
    assert errors(r) == [
        (
            "environment.SERVER_JARFILE",
            "required",
            "The Server Jar File variable field is required.",
        ),
        ("environment.BUILD_NUMBER", "required", "The Build Number variable field is required."),
    ]
    r = api.post(
        S,
        json=server_payload(
            environment={**PAPER_ENV, "BUILD_NUMBER": 12, "SERVER_JARFILE": "x.zip"}
        ),
    )
    assert errors(r) == [
        ("environment.SERVER_JARFILE", "regex", "The Server Jar File variable format is invalid."),
        ("environment.BUILD_NUMBER", "string", "The Build Number variable must be a string."),
    ]
    # request errors hide env errors
    r = api.post(S, json=server_payload(environment={}, name=None))
    assert [e[0] for e in errors(r)] == ["name"]


def test_omitted_env_stored_as_empty_string(api: httpx.Client) -> None:
    env = {"SERVER_JARFILE": "server.jar", "BUILD_NUMBER": "latest", "UNKNOWN": "x"}
    a = create(api, environment=env)
    e = a["container"]["environment"]
    assert e["MINECRAFT_VERSION"] == "" and e["DL_PATH"] == ""
    assert "UNKNOWN" not in e
    r = api.get(f"{S}/{a['id']}?include=variables")
    var = r.json()["attributes"]["relationships"]["variables"]["data"][0]
    assert var["object"] == "server_variable"
    assert var["attributes"]["server_value"] == ""
    assert var["attributes"]["default_value"] == "latest"


def test_get_by_external_id_exact_and_filters(api: httpx.Client) -> None:
    create(api, external_id="112", allocation={"default": 2})
    create(api, external_id="12", allocation={"default": 3})
    assert api.get(f"{S}/external/12").json()["attributes"]["external_id"] == "12"
    assert api.get(f"{S}/external/1").status_code == 404
    assert api.get(f"{S}?filter[external_id]=12").json()["meta"]["pagination"]["total"] == 2
    ident = api.get(f"{S}/external/12").json()["attributes"]["identifier"]
    r = api.get(f"{S}?filter[uuidShort]={ident}")
    assert r.json()["data"][0]["attributes"]["identifier"] == ident


def test_includes(api: httpx.Client) -> None:
    a = create(api, allocation={"default": 1, "additional": [2]})
    r = api.get(
        f"{S}/{a['id']}?include=allocations,user,egg,nest,location,node,variables,subusers,"
        "databases,bogus"
    )
    rel = r.json()["attributes"]["relationships"]
    assert [x["attributes"]["id"] for x in rel["allocations"]["data"]] == [1, 2]
    assert rel["user"]["object"] == "user" and rel["egg"]["object"] == "egg"
    assert rel["nest"]["object"] == "nest" and rel["location"]["attributes"]["short"] == "us-east"
    assert rel["node"]["object"] == "node"
    assert rel["subusers"] == {"object": "list", "data": []}
    assert rel["databases"] == {"object": "list", "data": []}
    assert "bogus" not in rel


# ----------------------------------------------------------------------------- deploy
def deploy(**kw: object) -> dict:
    d: dict = {"locations": [2], "dedicated_ip": False, "port_range": []}
    d.update(kw)
    return d


def test_deploy_picks_free_allocation_in_location(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.seed = 7
    a = create(api, deploy=deploy(port_range=["25565-25570"]), allocation={"default": 1})
    alloc = sb.state.allocations[a["allocation"]]
    assert a["node"] == 3 and alloc["node_id"] == 3 and 25565 <= alloc["port"] <= 25570


def test_deploy_is_random_but_seedable(clock: object) -> None:
    picks = []
    for _ in range(2):
        sb = PanelSandbox.from_seed()
        sb.faults.seed = 42
        from .conftest import make_client

        with make_client(sb) as c:
            picks.append(
                c.post(S, json=server_payload(deploy=deploy())).json()["attributes"]["allocation"]
            )
    assert picks[0] == picks[1]


def test_deploy_validation(api: httpx.Client) -> None:
    r = api.post(S, json=server_payload(deploy={"x": 1}))
    assert errors(r) == [
        ("deploy.locations", "present", "The deploy.locations field must be present."),
        (
            "deploy.dedicated_ip",
            "required_with",
            "The deploy.dedicated ip field is required when deploy / boolean is present.",
        ),
        ("deploy.port_range", "present", "The deploy.port range field must be present."),
    ]
    r = api.post(S, json=server_payload(deploy=deploy(port_range=[25565], locations=["a"])))
    assert errors(r) == [
        ("deploy.locations.0", "integer", "The deploy.locations.0 must be an integer."),
        ("deploy.port_range.0", "string", "The deploy.port range.0 must be a string."),
    ]
    # an empty deploy object means "no deploy": allocation.default is required again
    r = api.post(S, json={**server_payload(deploy={}), "allocation": None})
    assert ("deploy", "required", "The deploy field is required.") in errors(r)
    assert (
        "allocation.default",
        "required",
        "The allocation.default field is required.",
    ) in errors(r)


def test_deploy_errors_and_order(sb: PanelSandbox, api: httpx.Client) -> None:
    r = api.post(
        S,
        json=server_payload(
            deploy=deploy(),
            limits={"memory": 99999, "swap": 0, "disk": 1, "io": 500, "cpu": 0},
            environment={},
        ),
    )
    assert single_error(r) == (  # deploy failure hides env errors
        "NoViableNodeException",
        "400",
        "No nodes satisfying the requirements specified for automatic deployment could be found.",
    )
    r = api.post(S, json=server_payload(deploy=deploy(port_range=["30000"])))
    assert single_error(r) == (
        "NoViableAllocationException",
        "400",
        "No allocations satisfying the requirements for automatic deployment were found.",
    )
    r = api.post(S, json=server_payload(deploy=deploy(port_range=["20000-21001"])))
    assert single_error(r) == (
        "DisplayException",
        "400",
        "Adding more than 1000 ports in a single range at once is not supported.",
    )
    # a reversed range matches nothing
    r = api.post(S, json=server_payload(deploy=deploy(port_range=["25570-25565"])))
    assert single_error(r)[0] == "NoViableAllocationException"
    # unparseable strings are dropped: no port restriction at all
    a = create(api, deploy=deploy(port_range=["80-90", "25565 - 25570"]))
    assert a["node"] == 3


def test_deploy_dedicated_ip(sb: PanelSandbox, api: httpx.Client) -> None:
    create(api, deploy=deploy(), external_id="a")
    r = api.post(S, json=server_payload(deploy=deploy(dedicated_ip=True), external_id="b"))
    assert single_error(r)[0] == "NoViableAllocationException"
    a = create(api, deploy=deploy(locations=[], dedicated_ip=True), external_id="c")
    assert a["node"] in (1, 2)


def test_deploy_overallocate_minus_one_means_99_percent(
    sb: PanelSandbox, api: httpx.Client
) -> None:
    sb.state.nodes[3]["memory_overallocate"] = -1
    limits = {"memory": 32768, "swap": 0, "disk": 1, "io": 500, "cpu": 0}
    r = api.post(S, json=server_payload(deploy=deploy(), limits=limits))
    assert single_error(r)[0] == "NoViableNodeException"


# ----------------------------------------------------------------------------- updates
def test_details_full_replace(api: httpx.Client) -> None:
    a = create(api, description="hello")
    r = api.patch(f"{S}/{a['id']}/details", json={"name": "Renamed", "user": 1})
    assert r.status_code == 200
    attrs = r.json()["attributes"]
    assert (attrs["name"], attrs["external_id"], attrs["description"]) == ("Renamed", None, "")
    r = api.patch(f"{S}/{a['id']}/details", json={"name": "x"})
    assert errors(r) == [("user", "required", "The User ID field is required.")]


def test_build_rules(api: httpx.Client) -> None:
    a = create(api)
    url = f"{S}/{a['id']}/build"
    limits = {"memory": 4096, "swap": 0, "disk": 20480, "io": 500, "cpu": 300}
    r = api.patch(url, json={"allocation": 1, "limits": limits, "feature_limits": {"databases": 1}})
    assert errors(r) == [
        ("feature_limits.backups", "present", "The Backup Limit field must be present."),
    ]
    r = api.patch(
        url,
        json={"allocation": 2, "limits": limits, "feature_limits": {"databases": 1, "backups": 2}},
    )
    assert single_error(r) == (
        "DisplayException",
        "400",
        "The requested default allocation is not currently assigned to this server.",
    )
    r = api.patch(
        url,
        json={
            "allocation": 1,
            "limits": limits,
            "remove_allocations": [1],
            "feature_limits": {"databases": 1, "backups": 2},
        },
    )
    assert single_error(r)[2] == (
        "You are attempting to delete the default allocation for this server but there is no "
        "fallback allocation to use."
    )
    r = api.patch(
        url,
        json={
            "allocation": 2,
            "limits": limits,
            "add_allocations": [2, 41, 3],  # 41 is on node 2
            "feature_limits": {"databases": None, "allocations": None, "backups": 2},
        },
    )
    assert r.status_code == 200
    attrs = r.json()["attributes"]
    assert attrs["allocation"] == 2 and attrs["limits"]["memory"] == 4096
    assert attrs["feature_limits"] == {"databases": None, "allocations": None, "backups": 2}
    got = api.get(f"{S}/{a['id']}?include=allocations").json()["attributes"]["relationships"]
    assert [x["attributes"]["id"] for x in got["allocations"]["data"]] == [1, 2, 3]
    # legacy top-level limits are required when "limits" is absent
    r = api.patch(url, json={"allocation": 2, "feature_limits": {"databases": 0, "backups": 0}})
    assert [e[:2] for e in errors(r)] == [
        ("memory", "required_without"),
        ("swap", "required_without"),
        ("io", "required_without"),
        ("cpu", "required_without"),
        ("disk", "required_without"),
    ]


def test_startup_resets_and_egg_change(api: httpx.Client) -> None:
    a = create(api)
    url = f"{S}/{a['id']}/startup"
    base = {
        "startup": "java -jar {{SERVER_JARFILE}}",
        "egg": 3,
        "image": "ghcr.io/pterodactyl/yolks:java_17",
        "skip_scripts": False,
    }
    r = api.patch(url, json={"startup": "x"})
    assert [e[0] for e in errors(r)] == ["environment", "egg", "image", "skip_scripts"]
    r = api.patch(url, json={**base, "environment": {}})  # leaves variables alone
    env = r.json()["attributes"]["container"]["environment"]
    assert env["BUILD_NUMBER"] == "latest" and env["MINECRAFT_VERSION"] == "latest"
    assert r.json()["attributes"]["container"]["image"] == "ghcr.io/pterodactyl/yolks:java_17"
    r = api.patch(
        url, json={**base, "environment": {"SERVER_JARFILE": "a.jar", "BUILD_NUMBER": "99"}}
    )
    env = r.json()["attributes"]["container"]["environment"]
    assert env["MINECRAFT_VERSION"] == "" and env["SERVER_JARFILE"] == "a.jar"
    r = api.patch(url, json={**base, "environment": {"X": "1"}})
    assert errors(r)[0][:2] == ("environment.SERVER_JARFILE", "required")
    assert api.get(f"{S}/{a['id']}").json()["attributes"]["status"] is None  # installed
    r = api.patch(url, json={**base, "egg": 14, "environment": {}})
    attrs = r.json()["attributes"]
    assert (attrs["egg"], attrs["nest"], attrs["status"]) == (14, 4, None)  # no reinstall
    # no rows for the new egg's variables yet: defaults show through
    assert attrs["container"]["environment"]["FRAMEWORK"] == "vanilla"


# ----------------------------------------------------------------------------- lifecycle
def test_status_machine(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.install_mode = "never"
    a = create(api)
    url = f"{S}/{a['id']}"
    assert api.post(f"{url}/suspend").status_code == 204
    assert api.post(f"{url}/suspend").status_code == 204  # idempotent
    assert api.get(url).json()["attributes"]["status"] == "suspended"
    assert api.get(url).json()["attributes"]["suspended"] is True
    r = api.post(f"{url}/unsuspend")
    assert r.status_code == 204 and r.content == b""
    # unsuspend → null, whatever it was before (it was still installing)
    assert api.get(url).json()["attributes"]["status"] is None
    assert api.post(f"{url}/unsuspend").status_code == 204
    api.post(f"{url}/suspend")
    assert api.post(f"{url}/reinstall").status_code == 204
    assert api.get(url).json()["attributes"]["status"] == "installing"
    sb.faults.install_mode = "succeed"
    assert api.get(url).json()["attributes"]["status"] is None  # suspension is gone


def test_delete_frees_allocations(sb: PanelSandbox, api: httpx.Client) -> None:
    a = create(api, allocation={"default": 1, "additional": [2]})
    assert api.delete(f"{S}/{a['id']}").status_code == 204
    assert sb.state.allocations[1]["server_id"] is None
    assert sb.state.allocations[2]["server_id"] is None
    assert api.get(f"{S}/{a['id']}").status_code == 404
    b = create(api)
    assert api.delete(f"{S}/{b['id']}/force").status_code == 204
    assert api.get(f"{S}/{b['id']}").status_code == 404


@pytest.mark.parametrize("mode,expected", [("succeed", None), ("fail", "install_failed")])
def test_install_simulation(sb: PanelSandbox, api: httpx.Client, clock, mode, expected) -> None:
    sb.faults.install_mode = mode
    sb.faults.install_delay = 30
    a = create(api)
    url = f"{S}/{a['id']}"
    clock.advance(29)
    assert api.get(url).json()["attributes"]["status"] == "installing"
    clock.advance(1)
    attrs = api.get(url).json()["attributes"]
    assert attrs["status"] == expected
    assert attrs["container"]["installed"] == (1 if expected is None else 0)
    if mode == "fail":
        api.post(f"{url}/reinstall")
        clock.advance(30)
        assert api.get(url).json()["attributes"]["status"] == "reinstall_failed"


def test_install_never_and_state_helper(sb: PanelSandbox, api: httpx.Client, clock) -> None:
    sb.faults.install_mode = "never"
    a = create(api)
    clock.advance(10_000)
    assert api.get(f"{S}/{a['id']}").json()["attributes"]["status"] == "installing"
    assert sb.state.complete_installs() == 1
    assert api.get(f"{S}/{a['id']}").json()["attributes"]["status"] is None


def test_list_filter_uuid_short_does_not_leak_into_state(
    sb: PanelSandbox, api: httpx.Client
) -> None:
    a = create(api)
    r = api.get(f"{S}?filter[uuidShort]={a['identifier'].upper()}")
    assert r.json()["meta"]["pagination"]["total"] == 1
    assert "uuidShort" not in sb.state.servers[a["id"]]
    assert api.get(f"{S}?filter[node]=1").status_code == 400
