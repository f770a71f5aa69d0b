"""The JSON API's OpenAPI docs (Django Ninja's) are for signed-in users only, and served
from our origin so the CSP holds (no CDN script)."""

from __future__ import annotations

import pytest
from testkit import make_customer

pytestmark = pytest.mark.django_db


def test_docs_need_a_login(client):
    for path in ("/api/docs", "/api/openapi.json"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_signed_in_user_gets_docs_and_schema():
    _, client = make_customer("docs@example.com")
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/servers" in paths and "/api/servers/{order_id}" in paths
    live = schema.json()["components"]["schemas"]["ServerOut"]["properties"]
    assert {"live", "renews_at", "cancel_at_period_end", "payment_failed"} <= set(live)
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn.jsdelivr" not in html
    policy = docs["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
