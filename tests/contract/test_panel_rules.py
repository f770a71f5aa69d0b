"""Panel rules the sandbox imitates, checked against the target (sandbox or a real panel).

One test per behaviour fixed by the audit against pterodactyl/panel v1.11.8; each names the
upstream file. Against a real panel (PANEL_CONTRACT_URL/PANEL_CONTRACT_KEY) the read-only ones
always run; the ones that create users or servers need PANEL_CONTRACT_WRITE=1, like the rest
of the suite, and remove what they create. Sandbox-side tests of the same rules:
tests/sandbox_panel/test_upstream_v1118.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from contract_kit import Target, World, raw_client, raw_server_body, unique

pytestmark = pytest.mark.contract

U = "/api/application/users"
S = "/api/application/servers"


@pytest.fixture
def raw(target: Target) -> Iterator[httpx.Client]:
    with raw_client(target) as client:
        yield client


def rules_of(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(e["meta"]["source_field"], e["meta"]["rule"]) for e in response.json()["errors"]]


def user_body(tag: str, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"{tag}@example.invalid",
        "username": tag,
        "first_name": "Contract",
        "last_name": "Rules",
    }
    body.update(kw)
    return body


def created_user(target: Target, response: httpx.Response) -> None:
    """If the panel accepted what it should refuse, still remove the user, then fail."""
    if response.status_code == 201:
        target.cleanup_user(response.json()["attributes"]["id"])


# --- read-only -----------------------------------------------------------------------------------


def test_lowercase_bearer_is_401(target: Target, raw: httpx.Client) -> None:
    """laravel/framework v10.1.4 src/Illuminate/Http/Concerns/InteractsWithInput.php
    bearerToken() looks for the case-sensitive 'Bearer '."""
    key = raw.headers["Authorization"].removeprefix("Bearer ")
    r = raw.get(U, headers={"Authorization": f"bearer {key}"})
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "AuthenticationException"
    assert raw.get(U, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_deployable_page_must_be_integer(raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Http/Requests/Api/Application/Nodes/
    GetDeployableNodesRequest.php: 'page' => 'integer'."""
    r = raw.get("/api/application/nodes/deployable", params={"memory": 1, "disk": 1, "page": "abc"})
    assert rules_of(r) == [("page", "integer")]


def test_integer_rule_refuses_leading_zero(raw: httpx.Client) -> None:
    """Laravel v10.1.4 validateInteger = FILTER_VALIDATE_INT: "05" is no integer (GET
    /nodes/deployable 'memory' => 'required|integer|min:0')."""
    r = raw.get("/api/application/nodes/deployable", params={"memory": "05", "disk": "5"})
    assert rules_of(r) == [("memory", "integer")]


def test_client_api_binds_before_key_type(target: Target, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Http/Kernel.php 'client-api': SubstituteClientBindings
    before RequireClientApiKey, so an unknown server is 404 even for an application key."""
    r = raw.get("/api/client/servers/zzzzzzzz")
    assert r.status_code == 404


# --- write ---------------------------------------------------------------------------------------

REFUSED_EMAILS = [
    "john..doe@example.invalid",
    ".john@example.invalid",
    "john.@example.invalid",
    "john@-example.invalid",
    "john@example-.invalid",
    "john@example..invalid",
    "john@ex_ample.invalid",
]


def test_user_email_rfc_rule(target: Target, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Models/User.php 'email' => 'required|email|...': Laravel's
    email rule is egulias RFCValidation, which refuses these addresses."""
    target.require_write()
    for email in REFUSED_EMAILS:
        tag = unique()
        r = raw.post(U, json=user_body(tag, email=email))
        created_user(target, r)
        assert rules_of(r) == [("email", "email")], email
    tag = unique()
    r = raw.post(U, json=user_body(tag, email=f'"{tag} x"@example.invalid'))
    created_user(target, r)
    assert r.status_code == 201, r.text  # a quoted local part is only an RFC warning


def test_username_rule(target: Target, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Rules/Username.php: at least three characters; lower-cased
    on save (app/Models/User.php setUsernameAttribute); unique case-insensitively."""
    target.require_write()
    for bad in ("a5", "-abc", "abc-", "jöhn"):
        tag = unique()
        r = raw.post(U, json=user_body(tag, username=bad))
        created_user(target, r)
        assert rules_of(r) == [("username", "p_username")], bad
    tag = unique()
    r = raw.post(U, json=user_body(tag, username=tag.upper()))
    created_user(target, r)
    assert r.status_code == 201 and r.json()["attributes"]["username"] == tag
    r = raw.post(U, json=user_body(unique(), username=tag.upper()))
    created_user(target, r)
    assert rules_of(r) == [("username", "unique")]


def test_user_external_id_is_case_insensitive(target: Target, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Http/Controllers/Api/Application/Users/
    ExternalUserController.php + unique:users,external_id under utf8mb4_unicode_ci."""
    target.require_write()
    tag = unique()
    r = raw.post(U, json=user_body(tag, external_id=f"{tag}-ABC"))
    created_user(target, r)
    assert r.status_code == 201, r.text
    user_id = r.json()["attributes"]["id"]
    found = raw.get(f"{U}/external/{tag.upper()}-abc")
    assert found.status_code == 200 and found.json()["attributes"]["id"] == user_id
    other = unique()
    r = raw.post(U, json=user_body(other, external_id=f"{tag}-abc"))
    created_user(target, r)
    assert rules_of(r) == [("external_id", "unique")]


def test_server_external_id_is_case_insensitive(world: World, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Http/Controllers/Api/Application/Servers/
    ExternalServerController.php + app/Models/Server.php unique:servers, same collation."""
    ext = unique()
    server = world.create_server(external_id=ext)
    r = raw.get(f"{S}/external/{ext.upper()}")
    assert r.status_code == 200 and r.json()["attributes"]["id"] == server.id
    alloc = world.free.pop(0).id
    r = raw.post(
        S, json=raw_server_body(world, external_id=ext.upper(), allocation={"default": alloc})
    )
    if r.status_code == 201:
        world.target.cleanup_server(r.json()["attributes"]["id"])
    assert rules_of(r) == [("external_id", "unique")]


def test_details_error_attribute_names(world: World, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Http/Requests/Api/Application/Servers/
    UpdateServerDetailsRequest.php attributes(): 'User ID', 'Server Name'."""
    server = world.create_server()
    r = raw.patch(f"{S}/{server.id}/details", json={})
    assert r.status_code == 422
    assert [e["detail"] for e in r.json()["errors"]] == [
        "The Server Name field is required.",
        "The User ID field is required.",
    ]


def _build(server: Any, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "allocation": server.allocation_id,
        "limits": {"memory": 512, "swap": 0, "disk": 1024, "io": 500, "cpu": 50},
        "feature_limits": {"databases": 0, "allocations": 0, "backups": 0},
    }
    body.update(kw)
    return body


def test_build_backups_null_is_zero(world: World, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Services/Servers/BuildModificationService.php:
    'backup_limit' => Arr::get($data, 'backup_limit', 0) ?? 0."""
    server = world.create_server()
    r = raw.patch(
        f"{S}/{server.id}/build",
        json=_build(server, feature_limits={"databases": 0, "allocations": 0, "backups": None}),
    )
    assert r.status_code == 200, r.text
    assert r.json()["attributes"]["feature_limits"]["backups"] == 0


def test_build_remove_default_naming_other_switches(world: World, raw: httpx.Client) -> None:
    """BuildModificationService::processAllocations() compares removed ids with the requested
    default: remove the current default, name another owned allocation, and it switches."""
    server = world.create_server()
    extra = world.free.pop(0).id
    r = raw.patch(f"{S}/{server.id}/build", json=_build(server, add_allocations=[extra]))
    assert r.status_code == 200, r.text
    r = raw.patch(
        f"{S}/{server.id}/build",
        json=_build(server, allocation=extra, remove_allocations=[server.allocation_id]),
    )
    assert r.status_code == 200, r.text
    assert r.json()["attributes"]["allocation"] == extra
    got = world.target.client.server_get(server_id=server.id)
    assert {a.id for a in got.allocations} == {extra}


def test_deploy_assigns_additional(world: World, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Services/Servers/ServerCreationService.php
    storeAssignedAllocations(): allocation.additional is assigned with deploy too."""
    extra = world.free.pop(-1).id
    body = raw_server_body(
        world,
        external_id=unique(),
        allocation={"additional": [extra]},
        deploy={"locations": [world.node.location_id], "dedicated_ip": False, "port_range": []},
    )
    r = raw.post(S, json=body)
    if r.status_code == 201:
        world.target.cleanup_server(r.json()["attributes"]["id"])
    assert r.status_code == 201, r.text
    got = world.target.client.server_get(server_id=r.json()["attributes"]["id"])
    assert extra in {a.id for a in got.allocations}


def test_image_rule_has_no_tilde(world: World, raw: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Models/Server.php 'image' regex /^[\\w\\.\\/\\-:@ ]*$/
    (a leading '~' is allowed only on the develop branch)."""
    alloc = world.free.pop(0).id
    body = raw_server_body(
        world,
        external_id=unique(),
        allocation={"default": alloc},
        docker_image="~" + world.egg.docker_image,
    )
    r = raw.post(S, json=body)
    if r.status_code == 201:
        world.target.cleanup_server(r.json()["attributes"]["id"])
    assert rules_of(r) == [("docker_image", "regex")]
