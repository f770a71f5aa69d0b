from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.panel import PanelSandbox

PAPER_ENV = {
    "MINECRAFT_VERSION": "latest",
    "SERVER_JARFILE": "server.jar",
    "DL_PATH": "",
    "BUILD_NUMBER": "latest",
}


class FakeClock:
    def __init__(self, start: float = 1_730_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> PanelSandbox:
    return PanelSandbox.from_seed(clock=clock)


def make_client(sb: PanelSandbox, key: str | None = None, **headers: str) -> httpx.Client:
    hdrs = {"Accept": "application/json"}
    hdrs["Authorization"] = f"Bearer {key or sb.app_key}"
    hdrs.update(headers)
    return httpx.Client(
        transport=httpx.WSGITransport(app=sb.app), base_url="http://panel.test", headers=hdrs
    )


@pytest.fixture
def api(sb: PanelSandbox) -> Iterator[httpx.Client]:
    with make_client(sb) as client:
        yield client


@pytest.fixture
def served(sb: PanelSandbox) -> Iterator[str]:
    url = sb.serve()
    yield url
    sb.shutdown()


def server_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Alice's SMP",
        "user": 1,
        "egg": 3,
        "docker_image": "ghcr.io/pterodactyl/yolks:java_21",
        "startup": "java -Xms128M -XX:MaxRAMPercentage=95.0 -jar {{SERVER_JARFILE}}",
        "environment": dict(PAPER_ENV),
        "limits": {"memory": 2048, "swap": 0, "disk": 10240, "io": 500, "cpu": 200},
        "feature_limits": {"databases": 0, "allocations": 0, "backups": 0},
        "allocation": {"default": 1},
        "external_id": "order-1001",
    }
    body.update(overrides)
    return body


def errors(response: httpx.Response) -> list[tuple[str, str, str]]:
    """(source_field, rule, detail) of a 422."""
    return [
        (e["meta"]["source_field"], e["meta"]["rule"], e["detail"])
        for e in response.json()["errors"]
    ]


def single_error(response: httpx.Response) -> tuple[str, str, str]:
    (e,) = response.json()["errors"]
    return e["code"], e["status"], e["detail"]
