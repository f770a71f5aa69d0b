"""Envelope, pagination, filters and sorts (spatie/laravel-query-builder 5.1.2, league/fractal
0.20.1), error shapes (pterodactyl/panel v1.11.8 app/Exceptions/Handler.php), Accept and JSON
handling (app/Http/Middleware/Api/IsValidJson.php)."""

from __future__ import annotations

import httpx

from sandbox.panel import PanelSandbox

from .conftest import make_client, single_error

NOT_FOUND = "The requested resource could not be found on the server."


def test_single_resource_envelope(api: httpx.Client) -> None:
    r = api.get("/api/application/locations/1")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "location"
    assert body["attributes"]["short"] == "us-east"
    assert body["attributes"]["created_at"].endswith("+00:00")


def test_pagination_defaults_and_links(api: httpx.Client) -> None:
    r = api.get("/api/application/nodes/1/allocations")
    meta = r.json()["meta"]["pagination"]
    assert meta == {
        "total": 40,
        "count": 40,
        "per_page": 50,
        "current_page": 1,
        "total_pages": 1,
        "links": {},
    }
    r = api.get("/api/application/nodes/1/allocations?per_page=15&page=2&filter[ip]=203.0.113.10")
    meta = r.json()["meta"]["pagination"]
    assert meta["links"] == {
        "previous": "http://panel.test/api/application/nodes/1/allocations?page=1",
        "next": "http://panel.test/api/application/nodes/1/allocations?page=3",
    }
    assert meta["count"] == 15 and meta["total_pages"] == 3


def test_per_page_zero_means_15_and_no_cap(api: httpx.Client) -> None:
    assert (
        api.get("/api/application/nodes/1/allocations?per_page=0").json()["meta"]["pagination"][
            "per_page"
        ]
        == 15
    )
    r = api.get("/api/application/nodes/1/allocations?per_page=5000")
    assert r.json()["meta"]["pagination"]["per_page"] == 5000


def test_page_beyond_end_and_min_total_pages(api: httpx.Client) -> None:
    r = api.get("/api/application/users?page=9")
    body = r.json()
    assert body["data"] == []
    assert body["meta"]["pagination"]["total"] == 1
    assert body["meta"]["pagination"]["current_page"] == 9
    r = api.get("/api/application/servers")
    assert r.json()["meta"]["pagination"]["total_pages"] == 1
    assert r.json()["meta"]["pagination"]["links"] == {}
    assert (
        api.get("/api/application/users?page=abc").json()["meta"]["pagination"]["current_page"] == 1
    )


def test_partial_filters_or_and_empty(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.state.add_user("bob", "bob@x.com")
    sb.state.add_user("jimbob", "jimbob@x.com.au", external_id="112")
    sb.state.add_user("carol", "carol@y.org", external_id="12")
    emails = lambda r: sorted(u["attributes"]["email"] for u in r.json()["data"])  # noqa: E731
    assert emails(api.get("/api/application/users?filter[email]=BOB@x.com")) == [
        "bob@x.com",
        "jimbob@x.com.au",
    ]
    assert emails(api.get("/api/application/users?filter[external_id]=12")) == [
        "carol@y.org",
        "jimbob@x.com.au",
    ]
    assert emails(api.get("/api/application/users?filter[username]=carol,admin")) == [
        "admin@givrwrld.test",
        "carol@y.org",
    ]
    # empty value is normalised to null and ignored
    assert len(api.get("/api/application/users?filter[email]=").json()["data"]) == 4
    # trimmed like every input
    assert emails(api.get("/api/application/users?filter[email]=%20carol%20")) == ["carol@y.org"]


def test_unknown_filter_and_sort(api: httpx.Client) -> None:
    r = api.get("/api/application/users?filter[name]=x")
    assert r.status_code == 400
    assert single_error(r) == (
        "InvalidFilterQuery",
        "400",
        "Requested filter(s) `name` are not allowed. Allowed filter(s) are "
        "`email, uuid, username, external_id`.",
    )
    r = api.get("/api/application/users?sort=-email")
    assert r.status_code == 400
    assert single_error(r) == (
        "InvalidSortQuery",
        "400",
        "Requested sort(s) `email` is not allowed. Allowed sort(s) are `id, uuid`.",
    )


def test_sort_descending(sb: PanelSandbox, api: httpx.Client) -> None:
    sb.state.add_user("bob", "bob@x.com")
    ids = [u["attributes"]["id"] for u in api.get("/api/application/users?sort=-id").json()["data"]]
    assert ids == [2, 1]


def test_not_found_unknown_route_and_405(api: httpx.Client) -> None:
    r = api.get("/api/application/users/999")
    assert r.status_code == 404
    assert single_error(r) == ("NotFoundHttpException", "404", NOT_FOUND)
    assert api.get("/api/application/users/abc").status_code == 404
    r = api.get("/api/application/nope")
    assert r.status_code == 404
    assert single_error(r) == (
        "NotFoundHttpException",
        "404",
        "The route api/application/nope could not be found.",
    )
    r = api.put("/api/application/users")
    assert r.status_code == 405
    code, status, detail = single_error(r)
    assert (code, status) == ("MethodNotAllowedHttpException", "405")
    assert detail == (
        "The PUT method is not supported for route api/application/users. "
        "Supported methods: GET, HEAD, POST."
    )


def test_malformed_json_and_non_json_content_type(api: httpx.Client) -> None:
    r = api.post(
        "/api/application/locations",
        content=b"{bad",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert single_error(r) == (
        "BadRequestHttpException",
        "400",
        "The JSON data passed in the request appears to be malformed: Syntax error",
    )
    # Without a JSON content type the body is not parsed: fields look missing.
    r = api.post(
        "/api/application/locations",
        content=b'{"short": "ap-south"}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["meta"] == {"source_field": "short", "rule": "required"}


def test_accept_header_controls_error_format(sb: PanelSandbox) -> None:
    with make_client(sb, Accept="*/*") as c:
        r = c.get("/api/application/users", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 302
        assert r.headers["location"] == "http://panel.test/auth/login"
        r = c.post("/api/application/locations", json={})
        assert r.status_code == 302
        assert r.headers["location"] == "http://panel.test/"
        r = c.get("/api/application/users/999")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        # successes are JSON whatever the Accept header
        assert c.get("/api/application/users").json()["object"] == "list"
    with make_client(sb, Accept="Application/vnd.pterodactyl.v1+json") as c:
        assert c.get("/api/application/users/999").json()["errors"][0]["status"] == "404"


def test_trim_and_empty_to_null(api: httpx.Client) -> None:
    r = api.post("/api/application/locations", json={"short": "  ap-south  ", "long": ""})
    assert r.status_code == 201
    attrs = r.json()["attributes"]
    assert attrs["short"] == "ap-south"
    assert attrs["long"] is None
    assert r.json()["meta"] == {
        "resource": f"http://panel.test/api/application/locations/{attrs['id']}"
    }
