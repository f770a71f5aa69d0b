"""The panel client's client-area calls against the panel sandbox over WSGI: resources and
power with their error classes, the missing-client-key error, and the password update
(pterodactyl/panel v1.11.8 UpdateUserRequest / UserUpdateService)."""

from __future__ import annotations

import logging

import httpx
import pytest

from panel.client import PanelClient
from panel.errors import (
    PanelClientKeyMissingError,
    PanelConflictError,
    PanelNotFoundError,
    PanelServerError,
    PanelTerminalError,
    PanelValidationError,
)
from sandbox.panel import PanelSandbox
from sandbox.panel.web import password_verify

OWNER_KEY = "ptlc_OwnerKey001" + "d" * 32


@pytest.fixture
def sb() -> PanelSandbox:
    sb = PanelSandbox.from_seed()
    sb.faults.resources_cache_seconds = 0
    sb.faults.install_mode = "never"  # installs finish when a test says so
    return sb


def _client(sb: PanelSandbox, client_key: str | None) -> PanelClient:
    return PanelClient(
        "http://panel.test",
        sb.app_key,
        client_api_key=client_key,
        transport=httpx.WSGITransport(app=sb.app),
    )


@pytest.fixture
def server(sb: PanelSandbox) -> dict:
    owner = sb.state.add_user("owner", "owner@example.com", first_name="Ann", last_name="Lee")
    sb.state.add_api_key(owner["id"], OWNER_KEY, kind="account")
    payload = {
        "name": "Ann's SMP",
        "user": owner["id"],
        "egg": 3,
        "docker_image": "ghcr.io/pterodactyl/yolks:java_21",
        "startup": "java -jar {{SERVER_JARFILE}}",
        "environment": {
            "MINECRAFT_VERSION": "latest",
            "SERVER_JARFILE": "server.jar",
            "BUILD_NUMBER": "latest",
        },
        "limits": {"memory": 2048, "swap": 0, "disk": 10240, "io": 500, "cpu": 200},
        "feature_limits": {"databases": 0, "allocations": 0, "backups": 0},
        "allocation": {"default": 1},
    }
    with httpx.Client(
        transport=httpx.WSGITransport(app=sb.app),
        base_url="http://panel.test",
        headers={"Authorization": f"Bearer {sb.app_key}", "Accept": "application/json"},
    ) as api:
        created = api.post("/api/application/servers", json=payload)
    assert created.status_code == 201, created.text
    return {"owner": owner, **created.json()["attributes"]}


def test_resources_and_power_drive_the_state(sb: PanelSandbox, server: dict) -> None:
    with _client(sb, OWNER_KEY) as c:
        with pytest.raises(PanelConflictError) as info:
            c.client_server_resources(identifier=server["identifier"])
        assert info.value.status == 409 and info.value.code == "ServerStateConflictException"
        sb.state.complete_installs()
        stats = c.client_server_resources(identifier=server["identifier"])
        assert (stats.current_state, stats.memory_bytes, stats.is_suspended) == (
            "offline",
            0,
            False,
        )
        c.client_power(identifier=server["identifier"], signal="start")
        seen = [c.client_server_resources(identifier=server["identifier"]).current_state]
        seen.append(c.client_server_resources(identifier=server["identifier"]).current_state)
        assert seen == ["starting", "running"]
        running = c.client_server_resources(identifier=server["identifier"])
        assert running.memory_bytes == 2048 * 1024 * 1024 // 3
        with pytest.raises(ValueError):
            c.client_power(identifier=server["identifier"], signal="explode")
        with pytest.raises(PanelNotFoundError):
            c.client_server_resources(identifier="zzzzzzzz")
        sb.faults.wings_down = True
        with pytest.raises(PanelServerError):
            c.client_power(identifier=server["identifier"], signal="stop")


def test_missing_client_key_raises_before_any_request(sb: PanelSandbox, server: dict) -> None:
    before = sb.app.counter_snapshot()
    with _client(sb, None) as c:
        with pytest.raises(PanelClientKeyMissingError) as info:
            c.client_server_resources(identifier=server["identifier"])
    assert isinstance(info.value, PanelTerminalError)
    assert sb.app.counter_snapshot() == before


def test_set_password_keeps_fields_and_never_logs_it(
    sb: PanelSandbox, server: dict, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Corr3ct horse 🐎 battery"
    owner = server["owner"]
    before = {k: v for k, v in sb.state.users[owner["id"]].items() if k != "updated_at"}
    caplog.set_level(logging.DEBUG)
    with _client(sb, OWNER_KEY) as c:
        user = c.user_set_password(user_id=owner["id"], password=secret)
        with pytest.raises(ValueError):
            c.user_set_password(user_id=owner["id"], password="")
        with pytest.raises(PanelNotFoundError):
            c.user_set_password(user_id=999, password=secret)
    after = sb.state.users[owner["id"]]
    assert (user.email, user.first_name, user.last_name) == ("owner@example.com", "Ann", "Lee")
    assert password_verify(secret, after["password"])
    unchanged = {k: after[k] for k in before}
    assert unchanged == before
    assert secret not in caplog.text and secret not in str(after)


def test_set_password_panel_refusal_is_validation_error(sb: PanelSandbox, server: dict) -> None:
    owner = server["owner"]
    sb.state.users[owner["id"]]["name_first"] = ""  # a user the panel itself would refuse
    with _client(sb, OWNER_KEY) as c, pytest.raises(PanelValidationError) as info:
        c.user_set_password(user_id=owner["id"], password="whatever-123")
    assert info.value.has("first_name", "required")
    assert "password" not in sb.state.users[owner["id"]]
