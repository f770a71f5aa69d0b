"""Every JSON API route answers 401 with a JSON message to a caller who is not logged in (or
holds no valid token), with CSRF checks on as in production, and over real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult
from testkit import CSRF_TOKEN, make_customer

from billing.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

SESSION_ROUTES = [
    ("post", "/api/checkout/session", {"plan": "x", "region": "y", "server_name": "z"}),
    ("post", "/api/servers/1/cancel", {}),
    ("post", "/api/servers/1/plan", {"plan": "x"}),
    ("post", "/api/servers/1/reinstall", {"confirm": True}),
    ("post", "/api/servers/1/variables", {"variables": {}}),
    ("get", "/api/servers", None),
    ("get", "/api/servers/1", None),
]
INTERNAL_MISSING = "Send Authorization: Bearer <INTERNAL_API_TOKEN>, or log in as staff."


def _routes_exist() -> None:
    """The list above must follow the API: every route it names resolves to a Ninja view."""
    from django.urls import resolve

    for _method, path, _body in SESSION_ROUTES:
        assert resolve(path).url_name is not None, path


@pytest.mark.parametrize(("method", "path", "body"), SESSION_ROUTES)
def test_session_routes_answer_401_to_anonymous_with_csrf_enforced(db, method, path, body):
    _routes_exist()
    client = Client(enforce_csrf_checks=True)
    if method == "post":
        response = client.post(path, data=json.dumps(body), content_type="application/json")
    else:
        response = client.get(path)
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": "Authentication required.", "code": "unauthenticated"}
    assert response["WWW-Authenticate"] == 'Session realm="givrwrld"'
    assert Order.objects.count() == 0


def test_a_logged_in_post_without_csrf_token_is_403_and_with_it_passes_auth(db):
    user, _ = make_customer("eve@example.com")
    bare = Client(enforce_csrf_checks=True)
    bare.force_login(user)
    body = json.dumps({"plan": "nope", "region": "nope", "server_name": "x"})
    refused = bare.post("/api/checkout/session", data=body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "CSRF check Failed"}
    bare.cookies["csrftoken"] = CSRF_TOKEN
    passed = bare.post(
        "/api/checkout/session",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": CSRF_TOKEN},
    )
    # Past authentication and CSRF: the plan does not exist.
    assert passed.status_code == 404
    assert Order.objects.count() == 0


def test_internal_route_over_real_http(live_server):
    """What a real client sees (no test-client shortcuts): 401 JSON, then 404 with the token."""
    url = live_server.url + "/api/servers/provision"
    with httpx.Client(timeout=10) as http:
        missing = http.post(url, json={"order_id": 1})
        wrong = http.post(url, json={"order_id": 1}, headers={"Authorization": "Bearer nope"})
        right = http.post(
            url, json={"order_id": 1}, headers={"Authorization": "Bearer test-internal-token"}
        )
        customer_get = http.get(live_server.url + "/api/servers")
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/json")
    assert missing.json() == {"detail": INTERNAL_MISSING, "code": "unauthenticated"}
    assert missing.headers["www-authenticate"] == 'Bearer realm="givrwrld-internal"'
    assert wrong.status_code == 401
    assert wrong.json() == {
        "detail": "The bearer token is not valid for this API.",
        "code": "unauthenticated",
    }
    assert right.status_code == 404
    assert right.json() == {"detail": "Order #1 does not exist.", "code": "not_found"}
    assert customer_get.status_code == 401
    assert DBTaskResult.objects.count() == 0
