"""Unit tests for panel.client against httpx.MockTransport: one test per §7 pitfall that applies
to a call the client makes, plus error mapping, key hygiene and the exact request bodies."""

from __future__ import annotations

import sys
import types
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from panel_testkit import (
    APP_KEY,
    BASE_URL,
    CLIENT_KEY,
    envelope,
    error_body,
    json_response,
    page,
    server_attrs,
    user_attrs,
)

from panel.client import PanelClient
from panel.errors import (
    FieldError,
    PanelConflictError,
    PanelConnectionError,
    PanelError,
    PanelNotFoundError,
    PanelProtocolError,
    PanelRateLimitedError,
    PanelRetryableError,
    PanelServerError,
    PanelTerminalError,
    PanelTimeoutError,
    PanelValidationError,
)
from panel.types import (
    DeploySpec,
    FeatureLimits,
    RateLimitState,
    ServerCreateSpec,
    ServerLimits,
)

LIMITS = ServerLimits(memory=2048, swap=0, disk=10240, io=500, cpu=200)
FEATURES = FeatureLimits(databases=1, allocations=2, backups=3)


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url)).query, keep_blank_values=True)


def make_spec(**kw: Any) -> ServerCreateSpec:
    base: dict[str, Any] = {
        "name": "Alice's SMP",
        "user_id": 7,
        "egg_id": 3,
        "docker_image": "ghcr.io/pterodactyl/yolks:java_21",
        "startup": "java -jar {{SERVER_JARFILE}}",
        "environment": {"SERVER_JARFILE": "server.jar", "BUILD_NUMBER": "latest"},
        "limits": LIMITS,
        "feature_limits": FEATURES,
        "external_id": "order-1001",
        "allocation_id": 33,
    }
    base.update(kw)
    return ServerCreateSpec(**base)


# --- headers / transport ----------------------------------------------------------------------


def test_headers_accept_json_bearer_and_content_type_on_bodies(make_client):
    def handler(request):
        if request.method == "GET":
            return json_response(200, envelope("user", user_attrs(1, "a@x.com")))
        return json_response(201, envelope("user", user_attrs(2, "b@x.com")))

    client, rec = make_client(handler)
    client.user_get(user_id=1)
    client.user_create(email="b@x.com", username="bob", first_name="B", last_name="X")

    get, post = rec.requests
    for r in (get, post):
        assert r.headers["Accept"] == "application/json"
        assert r.headers["Authorization"] == f"Bearer {APP_KEY}"
    assert "Content-Type" not in get.headers
    assert post.headers["Content-Type"] == "application/json"
    assert str(get.url) == f"{BASE_URL}/api/application/users/1"


def test_base_url_with_api_suffix_is_normalised():
    client = PanelClient(f"{BASE_URL}/api/application/", APP_KEY)
    try:
        assert client.base_url == BASE_URL
    finally:
        client.close()


def test_timeouts_explicit_and_create_waits_at_least_60s(make_client):
    def handler(request):
        if request.method == "POST":
            return json_response(201, envelope("server", server_attrs()))
        return json_response(200, envelope("user", user_attrs(1, "a@x.com")))

    client, rec = make_client(handler)
    client.user_get(user_id=1)
    client.server_create(make_spec())
    get_timeout = rec.requests[0].extensions["timeout"]
    create_timeout = rec.requests[1].extensions["timeout"]
    assert get_timeout == {"connect": 5.0, "read": 15.0, "write": 15.0, "pool": 15.0}
    assert create_timeout["connect"] == 5.0
    assert create_timeout["read"] >= 60.0


# --- errors -----------------------------------------------------------------------------------


def test_422_maps_every_field_error(make_client):
    body = {
        "errors": [
            {
                "code": "ValidationException",
                "status": "422",
                "detail": "The email has already been taken.",
                "meta": {"source_field": "email", "rule": "unique"},
            },
            {
                "code": "ValidationException",
                "status": "422",
                "detail": "The Server Jar File variable field is required.",
                "meta": {"source_field": "environment.SERVER_JARFILE", "rule": "required"},
            },
        ]
    }
    client, _ = make_client(lambda r: json_response(422, body))
    with pytest.raises(PanelValidationError) as ei:
        client.user_create(email="a@x.com", username="alice", first_name="A", last_name="B")
    err = ei.value
    assert isinstance(err, PanelTerminalError)
    assert err.status == 422
    assert err.code == "ValidationException"
    assert err.endpoint == "POST /users"
    assert err.errors == [
        FieldError("email", "unique", "The email has already been taken."),
        FieldError(
            "environment.SERVER_JARFILE",
            "required",
            "The Server Jar File variable field is required.",
        ),
    ]
    assert err.has("email")
    assert err.has("email", "unique")
    assert not err.has("email", "required")
    assert not err.has("username")
    assert err.message == (
        "The email has already been taken.; The Server Jar File variable field is required."
    )


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "DisplayException", PanelTerminalError),
        (401, "AuthenticationException", PanelTerminalError),
        (403, "AccessDeniedHttpException", PanelTerminalError),
        (405, "MethodNotAllowedHttpException", PanelTerminalError),
        (409, "ConflictHttpException", PanelConflictError),
        (404, "NotFoundHttpException", PanelNotFoundError),
    ],
)
def test_4xx_are_terminal_or_not_found(make_client, status, code, cls):
    client, _ = make_client(lambda r: json_response(status, error_body(status, code, "nope")))
    with pytest.raises(cls) as ei:
        client.server_get(server_id=5)
    assert not isinstance(ei.value, PanelRetryableError)
    assert ei.value.status == status
    assert ei.value.code == code
    assert ei.value.endpoint == "GET /servers/{server_id}"


def test_429_is_rate_limited_with_retry_after_and_headers_recorded(make_client):
    headers = {
        "Retry-After": "37",
        "X-RateLimit-Limit": "240",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1900000000",
    }
    body = error_body(429, "ThrottleRequestsException", "Too Many Attempts.")
    client, _ = make_client(lambda r: json_response(429, body, headers))
    with pytest.raises(PanelRateLimitedError) as ei:
        client.nodes_list()
    assert ei.value.retry_after == 37.0
    assert ei.value.outcome_unknown is False
    assert ei.value.status == 429
    assert client.rate_limit is not None
    assert (client.rate_limit.limit, client.rate_limit.remaining) == (240, 0)


def test_rate_limit_headers_recorded_from_every_response(make_client):
    remaining = iter([239, 238])

    def handler(request):
        return json_response(
            200,
            envelope("user", user_attrs(1, "a@x.com")),
            {"X-RateLimit-Limit": "240", "X-RateLimit-Remaining": str(next(remaining))},
        )

    client, _ = make_client(handler)
    assert client.rate_limit is None
    client.user_get(user_id=1)
    assert client.rate_limit is not None and client.rate_limit.remaining == 239
    client.user_get(user_id=1)
    state = client.rate_limit
    assert isinstance(state, RateLimitState)
    assert (state.limit, state.remaining) == (240, 238)
    assert state.observed_at > 0


@pytest.mark.parametrize(
    ("exc", "cls", "unknown"),
    [
        (httpx.ReadTimeout("timed out"), PanelTimeoutError, True),
        (httpx.WriteTimeout("timed out"), PanelTimeoutError, True),
        (httpx.ConnectTimeout("timed out"), PanelTimeoutError, False),
        (httpx.PoolTimeout("timed out"), PanelTimeoutError, False),
        (httpx.ConnectError("[Errno 111] Connection refused"), PanelConnectionError, False),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            PanelConnectionError,
            True,
        ),
        (httpx.ReadError("connection reset"), PanelConnectionError, True),
    ],
)
def test_transport_failures_map_to_retryable_with_outcome(make_client, exc, cls, unknown):
    def handler(request):
        raise exc

    client, _ = make_client(handler)
    with pytest.raises(cls) as ei:
        client.server_create(make_spec())
    err = ei.value
    assert isinstance(err, PanelRetryableError)
    assert err.outcome_unknown is unknown
    assert err.status is None
    assert err.endpoint == "POST /servers"


@pytest.mark.parametrize(
    ("status", "code", "detail"),
    [
        (
            500,
            "DataValidationException",
            "Could not save Pterodactyl\\Models\\Server[]: failed to validate data: {}",
        ),
        (500, "QueryException", "An unexpected error was encountered..."),
        (
            504,
            "DaemonConnectionException",
            "Could not establish a connection to the machine running this server. "
            "Please try again.",
        ),
        (502, "DaemonConnectionException", "There was an error while communicating..."),
    ],
)
def test_5xx_are_server_errors_with_unknown_outcome(make_client, status, code, detail):
    client, _ = make_client(lambda r: json_response(status, error_body(status, code, detail)))
    with pytest.raises(PanelServerError) as ei:
        client.server_create(make_spec())
    assert ei.value.status == status
    assert ei.value.code == code
    assert ei.value.outcome_unknown is True
    assert ei.value.message == detail


def test_html_5xx_from_a_proxy_is_still_a_server_error(make_client):
    client, _ = make_client(
        lambda r: httpx.Response(
            502, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"}
        )
    )
    with pytest.raises(PanelServerError) as ei:
        client.nodes_list()
    assert ei.value.status == 502
    assert ei.value.code is None


def test_non_json_200_is_a_protocol_error(make_client):
    client, _ = make_client(
        lambda r: httpx.Response(
            200, text="<html>login</html>", headers={"Content-Type": "text/html"}
        )
    )
    with pytest.raises(PanelProtocolError) as ei:
        client.user_get(user_id=1)
    assert isinstance(ei.value, PanelServerError)
    assert ei.value.outcome_unknown is False  # a GET


def test_unexpected_shape_on_create_is_protocol_error_with_unknown_outcome(make_client):
    client, _ = make_client(lambda r: json_response(201, {"object": "server", "attributes": {}}))
    with pytest.raises(PanelProtocolError) as ei:
        client.server_create(make_spec())
    assert ei.value.outcome_unknown is True


def test_redirect_is_terminal_not_followed(make_client):
    client, rec = make_client(
        lambda r: httpx.Response(302, headers={"Location": "https://panel.example.test/auth/login"})
    )
    with pytest.raises(PanelTerminalError) as ei:
        client.user_get(user_id=1)
    assert ei.value.status == 302
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("x"),
        httpx.ConnectError("x"),
        httpx.RemoteProtocolError("x"),
        httpx.UnsupportedProtocol("x"),
        httpx.DecodingError("x"),
        httpx.TooManyRedirects("x"),
        httpx.ProxyError("x"),
        httpx.LocalProtocolError("x"),
        RuntimeError("a WSGI app or custom transport blew up"),
    ],
)
def test_nothing_from_httpx_leaks(make_client, exc):
    def handler(request):
        raise exc

    client, _ = make_client(handler)
    calls = [
        lambda: client.user_get(user_id=1),
        lambda: client.user_find_by_email(email="a@x.com"),
        lambda: client.server_create(make_spec()),
        lambda: client.server_delete(server_id=1, force=True),
        lambda: client.client_power(identifier="1a7ce997", signal="start"),
    ]
    for call in calls:
        with pytest.raises(PanelError) as ei:
            call()
        err = ei.value
        assert not isinstance(err, httpx.HTTPError)
        # Not chained either: an httpx exception carries the request and its Authorization header.
        assert err.__cause__ is None
        assert err.__suppress_context__ is True


# --- lookups and pagination -------------------------------------------------------------------


def test_external_id_404_returns_none(make_client):
    nf = error_body(
        404, "NotFoundHttpException", "The requested resource could not be found on the server."
    )
    client, rec = make_client(lambda r: json_response(404, nf))
    assert client.user_get_by_external_id(external_id="cus_123") is None
    assert client.server_get_by_external_id(external_id="order-1001") is None
    assert [r.url.path for r in rec.requests] == [
        "/api/application/users/external/cus_123",
        "/api/application/servers/external/order-1001",
    ]
    assert query(rec.requests[1])["include"] == ["allocations"]


def test_server_get_by_external_id_maps_allocations(make_client):
    client, _ = make_client(
        lambda r: json_response(200, envelope("server", server_attrs(with_allocations=True)))
    )
    server = client.server_get_by_external_id(external_id="order-1001")
    assert server is not None
    assert server.id == 12
    assert server.identifier == "1a7ce997"
    assert server.allocation_id == 33
    assert server.limits == LIMITS
    assert server.environment == {"SERVER_JARFILE": "server.jar", "P_SERVER_ALLOCATION_LIMIT": "0"}
    primary = server.primary_allocation
    assert primary is not None
    assert (primary.id, primary.ip, primary.port, primary.node_id) == (33, "10.0.0.5", 25565, 1)
    assert [a.id for a in server.allocations] == [33, 34]


def test_user_find_by_email_exact_match_on_page_three(make_client):
    """filter[email]=bob@x.com is a substring match: look-alikes fill pages 1-2."""
    pages = {
        1: [user_attrs(1, "jimbob@x.com.au"), user_attrs(2, "bob@x.com.au")],
        2: [user_attrs(3, "xbob@x.com"), user_attrs(4, "bob@x.community")],
        3: [user_attrs(5, "BOB@X.COM"), user_attrs(6, "bob@x.com.br")],
    }

    def handler(request):
        q = query(request)
        assert q["filter[email]"] == ["bob@x.com"]
        assert q["per_page"] == ["100"]
        n = int(q["page"][0])
        return json_response(200, page("user", pages[n], current=n, total_pages=3, per_page=2))

    client, rec = make_client(handler)
    user = client.user_find_by_email(email="bob@x.com")
    assert user is not None and user.id == 5
    assert [query(r)["page"] for r in rec.requests] == [["1"], ["2"], ["3"]]


def test_user_find_by_email_none_when_only_look_alikes(make_client):
    def handler(request):
        n = int(query(request)["page"][0])
        items = [user_attrs(n, f"jimbob{n}@x.com.au")]
        return json_response(200, page("user", items, current=n, total_pages=4, per_page=1))

    client, rec = make_client(handler)
    assert client.user_find_by_email(email="bob@x.com") is None
    assert len(rec.requests) == 4


def test_pagination_builds_its_own_urls_and_stops_at_total_pages(make_client):
    def handler(request):
        q = query(request)
        n = int(q["page"][0])
        items = [user_attrs(n * 10 + i, f"u{n}{i}@x.com") for i in range(2)]
        return json_response(200, page("user", items, current=n, total_pages=3, per_page=2))

    client, rec = make_client(handler)
    users = list(client.users_iter(per_page=2, username="u"))
    assert [u.id for u in users] == [10, 11, 20, 21, 30, 31]
    assert len(rec.requests) == 3  # stops at total_pages; no 4th probe
    for i, r in enumerate(rec.requests, start=1):
        q = query(r)
        # links.next (?page=N only) is ignored: per_page, filters and sort are kept.
        assert q == {
            "page": [str(i)],
            "per_page": ["2"],
            "sort": ["id"],
            "filter[username]": ["u"],
        }
        assert r.url.path == "/api/application/users"


def test_pagination_stops_on_empty_page(make_client):
    def handler(request):
        # A panel lying about total_pages must not make us loop forever.
        return json_response(200, page("user", [], current=1, total_pages=99, per_page=50))

    client, rec = make_client(handler)
    assert list(client.users_iter()) == []
    assert len(rec.requests) == 1


def test_free_allocations_filter_server_id_zero_every_page(make_client):
    def handler(request):
        q = query(request)
        assert q["filter[server_id]"] == ["0"]
        n = int(q["page"][0])
        items = [
            {
                "id": n,
                "ip": "10.0.0.5",
                "alias": None,
                "port": 25564 + n,
                "notes": None,
                "assigned": False,
            }
        ]
        return json_response(200, page("allocation", items, current=n, total_pages=2, per_page=1))

    client, rec = make_client(handler)
    allocs = client.allocations_list(node_id=4, free_only=True)
    assert [(a.id, a.node_id, a.port, a.assigned) for a in allocs] == [
        (1, 4, 25565, False),
        (2, 4, 25566, False),
    ]
    assert rec.requests[0].url.path == "/api/application/nodes/4/allocations"
    assert query(rec.requests[0])["per_page"] == ["500"]


def test_all_allocations_sends_no_server_id_filter(make_client):
    def handler(request):
        assert "filter[server_id]" not in query(request)
        return json_response(200, page("allocation", [], current=1, total_pages=1, per_page=500))

    client, _ = make_client(handler)
    assert client.allocations_list(node_id=4) == []


def test_no_viable_node_is_an_empty_answer(make_client):
    body = error_body(
        400,
        "NoViableNodeException",
        "No nodes satisfying the requirements specified for automatic deployment could be found.",
    )
    outcomes = []
    client, rec = make_client(
        lambda r: json_response(400, body), on_call=lambda e, o, s: outcomes.append((e, o))
    )
    assert client.nodes_deployable(memory=2048, disk=10240, location_ids=[1, 2]) == []
    q = query(rec.requests[0])
    assert q == {"memory": ["2048"], "disk": ["10240"], "location_ids[]": ["1", "2"]}
    assert outcomes == [("GET /nodes/deployable", "ok")]


def test_other_400_on_deployable_still_raises(make_client):
    body = error_body(400, "TwoFactorAuthRequiredException", "Two-factor authentication...")
    client, _ = make_client(lambda r: json_response(400, body))
    with pytest.raises(PanelTerminalError):
        client.nodes_deployable(memory=1, disk=1)


# --- request bodies ---------------------------------------------------------------------------


def test_create_body_strings_ints_and_exactly_one_call(make_client):
    client, rec = make_client(lambda r: json_response(201, envelope("server", server_attrs())))
    spec = make_spec(
        environment={"SERVER_JARFILE": "server.jar", "MAX_PLAYERS": 20, "ENABLE_X": True},  # type: ignore[dict-item]
        additional_allocation_ids=(34,),
        start_on_completion=True,
    )
    server = client.server_create(spec)
    assert len(rec.requests) == 1  # no follow-up GET: a returning customer costs ONE call
    assert server.id == 12
    assert server.allocation_id == 33
    assert server.allocations == ()
    assert rec.body() == {
        "name": "Alice's SMP",
        "user": 7,
        "egg": 3,
        "docker_image": "ghcr.io/pterodactyl/yolks:java_21",
        "startup": "java -jar {{SERVER_JARFILE}}",
        "environment": {"SERVER_JARFILE": "server.jar", "MAX_PLAYERS": "20", "ENABLE_X": "1"},
        "limits": {
            "memory": 2048,
            "swap": 0,
            "disk": 10240,
            "io": 500,
            "cpu": 200,
            "threads": None,
        },
        "feature_limits": {"databases": 1, "allocations": 2, "backups": 3},
        "oom_disabled": True,
        "external_id": "order-1001",
        "description": "",
        "start_on_completion": True,
        "skip_scripts": False,
        "allocation": {"default": 33, "additional": [34]},
    }


def test_create_with_deploy_sends_deploy_not_allocation(make_client):
    client, rec = make_client(lambda r: json_response(201, envelope("server", server_attrs())))
    spec = make_spec(
        allocation_id=None,
        deploy=DeploySpec(location_ids=(1,), dedicated_ip=False, port_range=("25565-25600",)),
        external_id=123,  # type: ignore[arg-type]
    )
    client.server_create(spec)
    body = rec.body()
    assert "allocation" not in body
    assert body["deploy"] == {
        "locations": [1],
        "dedicated_ip": False,
        "port_range": ["25565-25600"],
    }
    assert body["external_id"] == "123"


def test_create_spec_requires_exactly_one_placement():
    with pytest.raises(ValueError):
        make_spec(allocation_id=None)
    with pytest.raises(ValueError):
        make_spec(deploy=DeploySpec(location_ids=()))


def test_build_patch_sends_the_full_body(make_client):
    client, rec = make_client(lambda r: json_response(200, envelope("server", server_attrs())))
    client.server_update_build(
        server_id=12,
        allocation_id=33,
        limits=ServerLimits(memory=4096, swap=-1, disk=20480, io=500, cpu=0, oom_disabled=False),
        feature_limits=FeatureLimits(databases=0, allocations=0, backups=2),
        add_allocations=[35],
    )
    r = rec.requests[0]
    assert (r.method, r.url.path) == ("PATCH", "/api/application/servers/12/build")
    assert rec.body() == {
        "allocation": 33,
        "limits": {"memory": 4096, "swap": -1, "disk": 20480, "io": 500, "cpu": 0, "threads": None},
        "oom_disabled": False,
        "feature_limits": {"databases": 0, "allocations": 0, "backups": 2},
        "add_allocations": [35],
    }


def test_startup_patch_uses_image_key_and_string_env(make_client):
    client, rec = make_client(lambda r: json_response(200, envelope("server", server_attrs())))
    client.server_update_startup(
        server_id=12,
        startup="java -jar {{SERVER_JARFILE}}",
        environment={"SERVER_JARFILE": "paper.jar", "BUILD_NUMBER": 42},  # type: ignore[dict-item]
        egg_id=3,
        image="ghcr.io/pterodactyl/yolks:java_17",
    )
    assert rec.requests[0].url.path == "/api/application/servers/12/startup"
    body = rec.body()
    assert body == {
        "startup": "java -jar {{SERVER_JARFILE}}",
        "environment": {"SERVER_JARFILE": "paper.jar", "BUILD_NUMBER": "42"},
        "egg": 3,
        "image": "ghcr.io/pterodactyl/yolks:java_17",
        "skip_scripts": False,
    }
    assert "docker_image" not in body


def test_details_patch_always_sends_all_four(make_client):
    client, rec = make_client(lambda r: json_response(200, envelope("server", server_attrs())))
    client.server_update_details(
        server_id=12, name="New", user_id=9, external_id=None, description=None
    )
    assert rec.body() == {"name": "New", "user": 9, "external_id": None, "description": None}


def test_204_actions_paths_and_no_body(make_client):
    client, rec = make_client(lambda r: httpx.Response(204))
    assert client.server_suspend(server_id=12) is None
    client.server_unsuspend(server_id=12)
    client.server_reinstall(server_id=12)
    client.server_delete(server_id=12)
    client.server_delete(server_id=12, force=True)
    assert [(r.method, r.url.path) for r in rec.requests] == [
        ("POST", "/api/application/servers/12/suspend"),
        ("POST", "/api/application/servers/12/unsuspend"),
        ("POST", "/api/application/servers/12/reinstall"),
        ("DELETE", "/api/application/servers/12"),
        ("DELETE", "/api/application/servers/12/force"),
    ]
    assert all(r.content == b"" for r in rec.requests)


def test_user_create_sends_external_id_as_string(make_client):
    client, rec = make_client(
        lambda r: json_response(201, envelope("user", user_attrs(9, "a@x.com")))
    )
    user = client.user_create(
        email="a@x.com",
        username="alice",
        first_name="A",
        last_name="B",
        external_id=42,  # type: ignore[arg-type]
    )
    assert user.id == 9
    assert rec.body()["external_id"] == "42"
    assert "password" not in rec.body()


# --- client API -------------------------------------------------------------------------------


def test_client_api_uses_client_key_and_maps(make_client):
    view = {
        "server_owner": True,
        "identifier": "1a7ce997",
        "internal_id": 12,
        "uuid": "1a7ce997-259b-452e-8b4e-cecc464142ca",
        "name": "Alice's SMP",
        "node": "node-1",
        "status": None,
        "is_suspended": False,
        "is_installing": False,
        "is_transferring": False,
        "relationships": {
            "allocations": {
                "object": "list",
                "data": [
                    envelope(
                        "allocation",
                        {
                            "id": 33,
                            "ip": "10.0.0.5",
                            "ip_alias": "mc.example.com",
                            "port": 25565,
                            "notes": None,
                            "is_default": True,
                        },
                    )
                ],
            }
        },
    }
    stats = {
        "current_state": "running",
        "is_suspended": False,
        "resources": {
            "memory_bytes": 1024,
            "cpu_absolute": 12.5,
            "disk_bytes": 2048,
            "network_rx_bytes": 1,
            "network_tx_bytes": 2,
            "uptime": 3000,
        },
    }

    def handler(request):
        if request.url.path.endswith("/resources"):
            return json_response(200, envelope("stats", stats))
        if request.url.path.endswith("/power"):
            return httpx.Response(204)
        return json_response(200, {**envelope("server", view), "meta": {"is_server_owner": True}})

    client, rec = make_client(handler)
    v = client.client_server_view(identifier="1a7ce997")
    res = client.client_server_resources(identifier="1a7ce997")
    client.client_power(identifier="1a7ce997", signal="restart")
    assert v.internal_id == 12 and v.status is None
    assert v.primary_allocation is not None
    assert v.primary_allocation.address == "mc.example.com:25565"
    assert res.current_state == "running" and res.uptime_ms == 3000 and res.cpu_absolute == 12.5
    assert [r.url.path for r in rec.requests] == [
        "/api/client/servers/1a7ce997",
        "/api/client/servers/1a7ce997/resources",
        "/api/client/servers/1a7ce997/power",
    ]
    assert all(r.headers["Authorization"] == f"Bearer {CLIENT_KEY}" for r in rec.requests)
    assert rec.body() == {"signal": "restart"}


def test_client_api_without_key_is_terminal(make_client):
    client, rec = make_client(lambda r: httpx.Response(204), client_api_key=None)
    with pytest.raises(PanelTerminalError):
        client.client_power(identifier="1a7ce997", signal="start")
    assert rec.requests == []


def test_client_resources_409_while_installing(make_client):
    body = error_body(
        409,
        "ServerStateConflictException",
        "This server has not yet completed its installation process, please try again later.",
    )
    client, _ = make_client(lambda r: json_response(409, body))
    with pytest.raises(PanelConflictError):
        client.client_server_resources(identifier="1a7ce997")


# --- key hygiene, metrics, settings -----------------------------------------------------------


def test_key_never_in_repr_or_error_messages(make_client):
    failures = [
        lambda r: json_response(
            401, error_body(401, "AuthenticationException", "Unauthenticated.")
        ),
        lambda r: json_response(
            422, error_body(422, "ValidationException", "bad", source_field="x", rule="y")
        ),
        lambda r: json_response(500, error_body(500, "QueryException", "boom")),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("timed out", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
    ]
    for handler in failures:
        client, _ = make_client(handler)
        for secret in (APP_KEY, CLIENT_KEY, APP_KEY[16:], CLIENT_KEY[16:]):
            assert secret not in repr(client)
            assert secret not in str(client)
        for call in (
            lambda c=client: c.user_get(user_id=1),
            lambda c=client: c.client_power(identifier="abc", signal="kill"),
        ):
            with pytest.raises(PanelError) as ei:
                call()
            text = " ".join([str(ei.value), repr(ei.value), ei.value.message, repr(ei.value.args)])
            for secret in (APP_KEY, CLIENT_KEY, APP_KEY[16:], CLIENT_KEY[16:]):
                assert secret not in text


def test_on_call_reports_endpoint_template_and_outcome(make_client):
    responses = iter(
        [
            json_response(200, envelope("user", user_attrs(1, "a@x.com"))),
            json_response(404, error_body(404, "NotFoundHttpException", "nf")),
            json_response(
                422, error_body(422, "ValidationException", "v", source_field="a", rule="b")
            ),
            json_response(
                429, error_body(429, "ThrottleRequestsException", "t"), {"Retry-After": "1"}
            ),
            json_response(504, error_body(504, "DaemonConnectionException", "w")),
        ]
    )
    seen: list[tuple[str, str]] = []

    def on_call(endpoint, outcome, seconds):
        assert seconds >= 0
        seen.append((endpoint, outcome))
        raise RuntimeError("a broken metrics hook must not break the call")

    client, _ = make_client(lambda r: next(responses), on_call=on_call)
    client.user_get(user_id=1)
    assert client.server_get_by_external_id(external_id="o-1") is None
    for _ in range(3):
        with pytest.raises(PanelError):
            client.server_create(make_spec())
    assert seen == [
        ("GET /users/{user_id}", "ok"),
        ("GET /servers/external/{external_id}", "not_found"),
        ("POST /servers", "validation"),
        ("POST /servers", "rate_limited"),
        ("POST /servers", "server_error"),
    ]


def test_from_settings_reads_core_secrets(monkeypatch):
    values = {"panel.PANEL_URL": BASE_URL, "panel.PANEL_APP_KEY": APP_KEY}
    fake = types.ModuleType("core.secrets")
    fake.secret_get = values.get  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "core.secrets", fake)
    with PanelClient.from_settings(timeout=3.0) as client:
        assert client.base_url == BASE_URL
        assert client.timeout == 3.0
        assert "client_api_key=unset" in repr(client)

    values.pop("panel.PANEL_APP_KEY")
    with pytest.raises(PanelTerminalError, match=r"secrets set panel\.PANEL_URL"):
        PanelClient.from_settings()


def test_importing_panel_client_does_not_need_django():
    import subprocess

    code = "import sys, panel.client, panel.types, panel.errors; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": "."})
