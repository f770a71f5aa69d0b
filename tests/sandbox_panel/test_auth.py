"""Authentication, ACL and check order (pterodactyl/panel v1.11.8 app/Http/Kernel.php middleware
groups, app/Services/Acl/Api/AdminAcl.php); rate limiting (app/Providers/RouteServiceProvider.php,
config/http.php)."""

from __future__ import annotations

import httpx

from sandbox.panel import PanelSandbox

from .conftest import FakeClock, make_client, server_payload, single_error

OTHER_APP = "ptla_OtherAdmin1" + "a" * 32
USER_CLIENT = "ptlc_PlainUser01" + "b" * 32
LIMITED = "ptla_LimitedKey1" + "c" * 32


def test_missing_and_bad_key_401(sb: PanelSandbox) -> None:
    with make_client(sb, key="ptla_unknown0000" + "x" * 32) as c:
        r = c.get("/api/application/users")
    assert r.status_code == 401
    assert single_error(r) == ("AuthenticationException", "401", "Unauthenticated.")
    assert "x-ratelimit-limit" not in r.headers
    with make_client(sb, key=sb.app_key[:16] + "0" * 32) as c:  # right id, wrong secret
        assert c.get("/api/application/users").status_code == 401


def test_expired_key_401(sb: PanelSandbox, clock: FakeClock) -> None:
    sb.state.add_api_key(1, OTHER_APP, expires_at=clock() - 1)
    with make_client(sb, key=OTHER_APP) as c:
        assert c.get("/api/application/users").status_code == 401


def test_application_key_refused_on_client_api(sb: PanelSandbox, api: httpx.Client) -> None:
    """pterodactyl/panel v1.11.8 app/Http/Kernel.php 'client-api' group: SubstituteClientBindings
    runs before RequireClientApiKey, so an unknown server is a 404 even for an application key;
    a known one is the 403."""
    assert api.get("/api/client/servers/abcdefgh").status_code == 404
    server = api.post("/api/application/servers", json=server_payload()).json()["attributes"]
    r = api.get(f"/api/client/servers/{server['identifier']}")
    assert r.status_code == 403
    assert single_error(r) == (
        "AccessDeniedHttpException",
        "403",
        "You are attempting to use an application API key on an endpoint that requires a client "
        "API key.",
    )


def test_non_root_admin_403_and_client_key_of_admin_passes(sb: PanelSandbox) -> None:
    user = sb.state.add_user("plain", "plain@x.com")
    sb.state.add_api_key(user["id"], USER_CLIENT, kind="account")
    with make_client(sb, key=USER_CLIENT) as c:
        r = c.get("/api/application/users")
        assert r.status_code == 403
        assert single_error(r)[2] == "This account does not have permission to access the API."
        # route binding (404) comes before the root-admin check
        assert c.get("/api/application/users/999").status_code == 404
    with make_client(sb, key=sb.client_key) as c:
        assert c.get("/api/application/users").status_code == 200


def test_acl_bitmask(sb: PanelSandbox) -> None:
    sb.state.add_api_key(
        1, LIMITED, permissions={"r_users": 1, "r_nodes": 0, "r_locations": 2, "r_servers": 0}
    )
    with make_client(sb, key=LIMITED) as c:
        assert c.get("/api/application/users").status_code == 200
        r = c.post("/api/application/users", json={})
        assert r.status_code == 403
        assert single_error(r) == (
            "AccessDeniedHttpException",
            "403",
            "This action is unauthorized.",
        )
        assert c.get("/api/application/nodes").status_code == 403
        assert c.get("/api/application/locations").status_code == 403
        # write-only: validation runs (422) after the ACL passes
        assert c.post("/api/application/locations", json={}).status_code == 422
        # 404 (binding) precedes the ACL check
        assert c.get("/api/application/nodes/999").status_code == 404
        # includes the key can't read become null_resource
        r = c.get("/api/application/users/1?include=servers")
        assert r.json()["attributes"]["relationships"]["servers"] == {
            "object": "null_resource",
            "attributes": None,
        }


def test_two_factor_and_ip_allow_list_order(sb: PanelSandbox) -> None:
    sb.state.add_api_key(1, OTHER_APP, allowed_ips=["10.0.0.0/8"])
    with make_client(sb, key=OTHER_APP) as c:
        r = c.get("/api/application/users")
        assert r.status_code == 403
        assert single_error(r)[2] == (
            "This IP address (127.0.0.1) does not have permission to access the API using these "
            "credentials."
        )
        # malformed JSON (400) is checked before the IP allow-list
        r = c.post(
            "/api/application/users", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert single_error(r)[0] == "BadRequestHttpException"
        sb.faults.two_factor_required = True
        r = c.get("/api/application/users")
        assert r.status_code == 400
        assert single_error(r) == (
            "TwoFactorAuthRequiredException",
            "400",
            "Two-factor authentication is required on this account in order to access this "
            "endpoint.",
        )
    with make_client(sb, key="ptla_nope00000000" + "z" * 31) as c:
        assert c.get("/api/application/users").status_code == 401  # 401 first


def test_rate_limit_fixed_window(sb: PanelSandbox, api: httpx.Client, clock: FakeClock) -> None:
    sb.faults.rate_limit = 5
    r = api.get("/api/application/users")
    assert r.headers["x-ratelimit-limit"] == "5"
    assert r.headers["x-ratelimit-remaining"] == "4"
    clock.advance(10)
    assert api.get("/api/application/users/999").status_code == 404  # 404s count
    assert api.post("/api/application/users", json={}).status_code == 422  # so do 422s
    api.get("/api/application/users")
    r = api.get("/api/application/users")
    assert r.headers["x-ratelimit-remaining"] == "0"
    r = api.get("/api/application/users")
    assert r.status_code == 429
    assert r.json() == {
        "errors": [
            {"code": "ThrottleRequestsException", "status": "429", "detail": "Too Many Attempts."}
        ]
    }
    assert r.headers["retry-after"] == "50"
    assert r.headers["x-ratelimit-reset"] == str(int(clock() + 50))
    assert r.headers["x-ratelimit-remaining"] == "0"
    clock.advance(50)  # the window started at the first hit
    r = api.get("/api/application/users")
    assert r.status_code == 200
    assert r.headers["x-ratelimit-remaining"] == "4"


def test_client_bucket_is_separate(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.rate_limit = 1
    api.get("/api/application/users")
    assert api.get("/api/application/users").status_code == 429
    sb.faults.rate_limit = 240
    server = api.post("/api/application/servers", json=server_payload()).json()["attributes"]
    sb.faults.rate_limit = 1
    with make_client(sb, key=sb.client_key) as c:
        # Binding (404) comes before throttle:api.client, so a miss carries no limit headers.
        r = c.get("/api/client/servers/abcdefgh")
        assert r.status_code == 404
        assert "x-ratelimit-limit" not in r.headers
        r = c.get(f"/api/client/servers/{server['identifier']}")
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit"] == "720"


def test_keys_are_shared_per_user(sb: PanelSandbox) -> None:
    sb.faults.rate_limit = 2
    sb.state.add_api_key(1, OTHER_APP)
    with make_client(sb) as a, make_client(sb, key=OTHER_APP) as b:
        a.get("/api/application/users")
        b.get("/api/application/users")
        assert a.get("/api/application/users").status_code == 429


def test_key_format_validated() -> None:
    import pytest

    with pytest.raises(ValueError):
        PanelSandbox.from_seed(app_key="ptla_short")
    with pytest.raises(ValueError):
        PanelSandbox.from_seed(client_key="ptla_" + "a" * 43)
    sb = PanelSandbox.from_seed(app_key="ptla_" + "A" * 43, client_key="ptlc_" + "B" * 43)
    assert sb.app_key == "ptla_" + "A" * 43
    with make_client(sb) as c:
        assert c.get("/api/application/users").status_code == 200
    with make_client(sb, key="ptla_SandboxApp1" + "0123456789abcdef0123456789abcdef") as c:
        assert c.get("/api/application/users").status_code == 401


def test_throttle_precedes_binding_and_acl(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.faults.rate_limit = 1
    api.get("/api/application/users")
    r = api.get("/api/application/users/999")
    assert r.status_code == 429  # not 404: throttling runs before route-model binding
    assert sb.counters()["GET /api/application/users/{user}"] == 1  # refused requests count
