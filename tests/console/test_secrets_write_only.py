"""Secrets are write-only, and a new panel URL needs the panel key entered with it: the
stored key is never sent to a URL typed in later. A local listener on 127.0.0.1 records
every request that reaches it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from staff import post_form, staff_client

from core.models import Secret
from core.secrets import secret_get

pytestmark = pytest.mark.django_db(transaction=True)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def _record(self) -> None:
        self.seen.append(
            {"path": self.path, "authorization": self.headers.get("Authorization", "")}
        )
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errors":[{"code":"AuthenticationException","status":"401"}]}')

    do_GET = do_POST = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener():
    seen: list[dict[str, str]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _change(owner, name: str, data: dict) -> object:
    row = Secret.objects.get(name=name)
    return post_form(owner, f"/admin/core/secret/{row.pk}/change/", data)


def test_a_new_panel_url_without_the_key_sends_the_old_key_nowhere(catalog, listener):
    url, seen = listener
    owner = staff_client("owner@example.com", group="owner")
    old_url, old_key = secret_get("panel.PANEL_URL"), secret_get("panel.PANEL_APP_KEY")

    response = _change(owner, "panel.PANEL_URL", {"value": url})
    assert response.status_code == 200  # the form again
    assert "Enter the panel application key for this URL" in response.content.decode()
    assert (secret_get("panel.PANEL_URL"), secret_get("panel.PANEL_APP_KEY")) == (old_url, old_key)

    # Sync now goes to the URL the key was entered with; the listener hears nothing.
    post_form(owner, "/admin/catalog/egg/sync/", {}, token_from="/admin/catalog/egg/")
    assert seen == []

    # With the key for it, both change together; only the new key ever reaches the new URL.
    response = _change(owner, "panel.PANEL_URL", {"value": url, "panel_key": "ptla_" + "n" * 43})
    assert response.status_code == 302
    assert secret_get("panel.PANEL_URL") == url
    assert secret_get("panel.PANEL_APP_KEY") == "ptla_" + "n" * 43
    post_form(owner, "/admin/catalog/egg/sync/", {}, token_from="/admin/catalog/egg/")
    assert seen and {r["authorization"] for r in seen} == {"Bearer ptla_" + "n" * 43}
    assert all(old_key not in r["authorization"] for r in seen)


def test_the_same_url_again_needs_no_key_and_other_secrets_take_none(catalog):
    owner = staff_client("owner@example.com", group="owner")
    same = secret_get("panel.PANEL_URL")
    assert _change(owner, "panel.PANEL_URL", {"value": same}).status_code == 302
    response = _change(owner, "panel.PANEL_APP_KEY", {"value": "ptla_x", "panel_key": "ptla_y"})
    assert response.status_code == 200
    assert "Only a new panel.PANEL_URL takes a panel key." in response.content.decode()


def test_secret_pages_never_show_a_value_and_names_are_fixed(catalog):
    owner = staff_client("owner@example.com", group="owner")
    key = secret_get("panel.PANEL_APP_KEY")
    for row in Secret.objects.all():
        html = owner.get(f"/admin/core/secret/{row.pk}/change/").content.decode()
        assert key not in html and 'name="name"' not in html
    listing = owner.get("/admin/core/secret/").content.decode()
    assert key not in listing
    # A new panel.PANEL_URL secret (after deleting the old one) needs the key too.
    Secret.objects.filter(name="panel.PANEL_URL").delete()
    response = post_form(
        owner, "/admin/core/secret/add/", {"name": "panel.PANEL_URL", "value": "http://x.test"}
    )
    assert response.status_code == 200
    assert not Secret.objects.filter(name="panel.PANEL_URL").exists()
