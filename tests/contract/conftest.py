"""Contract-suite fixtures: ``target`` (sandbox or real panel) and ``world`` (write tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from contract_kit import (
    REAL,
    REAL_KEY,
    REAL_URL,
    SANDBOX_BASE_URL,
    FakeClock,
    PacedPanelClient,
    Target,
    World,
    pick_egg,
    pick_node_with_free,
    unique,
)

from panel.client import PanelClient


@pytest.fixture
def target() -> Iterator[Target]:
    if REAL:
        client = PacedPanelClient(
            REAL_URL,
            REAL_KEY,
            client_api_key=os.environ.get("PANEL_CONTRACT_CLIENT_KEY") or None,
        )
        t = Target(
            client=client,
            is_sandbox=False,
            write_allowed=os.environ.get("PANEL_CONTRACT_WRITE") == "1",
        )
    else:
        import httpx

        from sandbox.panel import PanelSandbox

        clock = FakeClock()
        sb = PanelSandbox.from_seed(clock=clock)
        # Installs take 30 s of sandbox time, like a real Wings; wait_installed() jumps the clock.
        sb.faults.install_delay = 30.0
        client = PanelClient(
            SANDBOX_BASE_URL,
            sb.app_key,
            client_api_key=sb.client_key,
            transport=httpx.WSGITransport(app=sb.app),
        )
        t = Target(client=client, is_sandbox=True, write_allowed=True, sandbox=sb, clock=clock)
    try:
        yield t
    finally:
        problems = t.run_cleanups()
        t.client.close()
        assert not problems, f"cleanup failed: {problems}"


@pytest.fixture
def world(target: Target) -> World:
    target.require_write()
    tag = unique()
    user = target.client.user_create(
        email=f"{tag}@example.invalid",
        username=tag,
        first_name="Contract",
        last_name="Test",
        external_id=tag,
    )
    target.cleanup_user(user.id)
    node, free = pick_node_with_free(target.client)
    return World(target=target, user_id=user.id, egg=pick_egg(target.client), node=node, free=free)
