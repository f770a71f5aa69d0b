"""Contract-suite helpers (fixtures live in conftest.py). The same tests run against the panel
sandbox (default) or a real panel.

Real panel: set PANEL_CONTRACT_URL and PANEL_CONTRACT_KEY (application key), optionally
PANEL_CONTRACT_CLIENT_KEY (account key) and PANEL_CONTRACT_WRITE=1 to allow tests that create,
change and delete things. See docs/panel-compatibility.md.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from panel.client import PanelClient
from panel.errors import PanelError, PanelNotFoundError, PanelRateLimitedError
from panel.types import (
    FeatureLimits,
    PanelAllocation,
    PanelEgg,
    PanelNode,
    PanelServer,
    ServerCreateSpec,
    ServerLimits,
)

REAL_URL = os.environ.get("PANEL_CONTRACT_URL", "").strip()
REAL_KEY = os.environ.get("PANEL_CONTRACT_KEY", "").strip()
REAL = bool(REAL_URL and REAL_KEY)
WRITE_SKIP_REASON = (
    "write tests need PANEL_CONTRACT_WRITE=1 (they create, change and delete users and servers "
    "on the real panel at PANEL_CONTRACT_URL)"
)
SANDBOX_BASE_URL = "http://panel.test"

TEST_LIMITS = ServerLimits(memory=512, swap=0, disk=1024, io=500, cpu=50)
TEST_FEATURES = FeatureLimits(databases=0, allocations=0, backups=0)


class FakeClock:
    """Injected into the sandbox so tests can step past its 20 s resource cache and install
    delays without sleeping."""

    def __init__(self, start: float = 1_730_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PacedPanelClient(PanelClient):
    """Used for real-panel runs only: waits out a 429 (240 calls/min by default) and tries again,
    so a write run that needs more calls than one window still passes. The product's client
    never retries by itself; the provisioning service decides."""

    def _request(self, *args: Any, **kw: Any) -> Any:
        for attempt in range(3):
            try:
                return super()._request(*args, **kw)
            except PanelRateLimitedError as exc:
                if attempt == 2:
                    raise
                time.sleep(min(exc.retry_after or 5.0, 65.0) + 0.5)
        raise AssertionError("unreachable")


_catalogue_cache: dict[str, Any] = {}


def unique(prefix: str = "gw-contract") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Target:
    """What a contract test talks to."""

    client: PanelClient
    is_sandbox: bool
    write_allowed: bool
    sandbox: Any = None
    clock: FakeClock | None = None
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def has_client_key(self) -> bool:
        return "client_api_key=set" in repr(self.client)

    def require_write(self) -> None:
        if not self.write_allowed:
            pytest.skip(WRITE_SKIP_REASON)

    def require_sandbox(self, why: str) -> None:
        if not self.is_sandbox:
            pytest.skip(f"sandbox only: {why}")

    # --- cleanup ------------------------------------------------------------------------------

    def on_cleanup(self, fn: Callable[[], None]) -> None:
        self._cleanups.append(fn)

    def cleanup_server(self, server_id: int) -> None:
        def delete() -> None:
            try:
                self.client.server_delete(server_id=server_id, force=True)
            except PanelNotFoundError:
                pass

        self.on_cleanup(delete)

    def cleanup_user(self, user_id: int) -> None:
        def delete() -> None:
            try:
                self.client.user_delete(user_id=user_id)
            except PanelNotFoundError:
                pass

        self.on_cleanup(delete)

    def run_cleanups(self) -> list[str]:
        problems = []
        if self.sandbox is not None:
            self.sandbox.faults.wings_down = False
        # Servers were registered after their owners: undo in reverse order.
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except PanelError as exc:
                problems.append(str(exc))
        return problems

    # --- helpers for write tests --------------------------------------------------------------

    def wait_installed(self, server_id: int, timeout: float = 90.0) -> PanelServer:
        """Sandbox: let Wings report now. Real panel: poll (skip_scripts installs are quick)."""
        if self.sandbox is not None:
            assert self.clock is not None
            self.clock.advance(max(60.0, float(self.sandbox.faults.install_delay) + 1))
            self.sandbox.state.complete_installs(
                mode=self.sandbox.faults.install_mode,
                delay=float(self.sandbox.faults.install_delay),
            )
            return self.client.server_get(server_id=server_id)
        deadline = time.monotonic() + timeout
        while True:
            server = self.client.server_get(server_id=server_id)
            if server.status != "installing" or time.monotonic() > deadline:
                return server
            time.sleep(3)

    def advance(self, seconds: float) -> None:
        """Let time pass: the sandbox clock jumps; a real panel really waits."""
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            time.sleep(seconds)


# --- raw HTTP, for rules the product's client never sends on purpose ----------------------------


def raw_client(target: Target) -> Any:
    """An httpx.Client with the application key, against the sandbox (WSGI) or the real panel.

    The rule tests send requests ``PanelClient`` would never build (a bad e-mail, "05", a
    lower-case ``bearer``) to pin what the panel answers."""
    import httpx

    headers = {"Accept": "application/json"}
    if target.sandbox is not None:
        headers["Authorization"] = f"Bearer {target.sandbox.app_key}"
        return httpx.Client(
            transport=httpx.WSGITransport(app=target.sandbox.app),
            base_url=SANDBOX_BASE_URL,
            headers=headers,
        )
    headers["Authorization"] = f"Bearer {REAL_KEY}"
    return httpx.Client(base_url=REAL_URL, headers=headers, timeout=60.0)


def raw_server_body(world: World, *, external_id: str, **overrides: Any) -> dict[str, Any]:
    """A POST /servers body built from the world's egg, like ``server_spec`` but as JSON."""
    body: dict[str, Any] = {
        "name": f"{external_id} test",
        "user": world.user_id,
        "egg": world.egg.id,
        "docker_image": world.egg.docker_image,
        "startup": world.egg.startup,
        "environment": world.egg.default_environment(),
        "limits": {"memory": 512, "swap": 0, "disk": 1024, "io": 500, "cpu": 50},
        "feature_limits": {"databases": 0, "allocations": 0, "backups": 0},
        "external_id": external_id,
        "skip_scripts": True,
    }
    body.update(overrides)
    return body


# --- fixtures used by the write tests -----------------------------------------------------------


def pick_egg(client: PanelClient) -> PanelEgg:
    wanted = os.environ.get("PANEL_CONTRACT_EGG_ID")
    cache_key = f"eggs:{client.base_url}"
    if cache_key not in _catalogue_cache:  # the catalogue doesn't change during a run
        _catalogue_cache[cache_key] = [
            egg for nest in client.nests_list() for egg in client.eggs_list(nest_id=nest.id)
        ]
    eggs: list[PanelEgg] = _catalogue_cache[cache_key]
    assert eggs, "the panel has no eggs"
    if wanted:
        return next(e for e in eggs if e.id == int(wanted))
    for name in ("Paper", "Vanilla Minecraft"):
        for egg in eggs:
            if egg.name == name:
                return egg
    return eggs[0]


def pick_node_with_free(
    client: PanelClient, count: int = 2
) -> tuple[PanelNode, list[PanelAllocation]]:
    wanted = os.environ.get("PANEL_CONTRACT_NODE_ID")
    nodes = client.nodes_list()
    if wanted:
        nodes = [n for n in nodes if n.id == int(wanted)]
    for node in nodes:
        free = client.allocations_list(node_id=node.id, free_only=True)
        if len(free) >= count:
            return node, free
    pytest.fail(f"no node with {count} free allocations (set PANEL_CONTRACT_NODE_ID)")


def server_spec(
    egg: PanelEgg, *, user_id: int, external_id: str, allocation_id: int | None = None, **kw: Any
) -> ServerCreateSpec:
    return ServerCreateSpec(
        name=f"{external_id} test",
        user_id=user_id,
        egg_id=egg.id,
        docker_image=egg.docker_image,
        startup=egg.startup,
        environment=egg.default_environment(),
        limits=TEST_LIMITS,
        feature_limits=TEST_FEATURES,
        external_id=external_id,
        allocation_id=allocation_id,
        skip_scripts=True,
        **kw,
    )


@dataclass
class World:
    """A test user, an egg, and a node with free allocations, created/chosen for one test."""

    target: Target
    user_id: int
    egg: PanelEgg
    node: PanelNode
    free: list[PanelAllocation]

    def create_server(self, **kw: Any) -> PanelServer:
        alloc = kw.pop("allocation_id", None)
        if alloc is None and "deploy" not in kw:
            alloc = self.free.pop(0).id
        external_id = kw.pop("external_id", None) or unique()
        spec = server_spec(
            self.egg, user_id=self.user_id, external_id=external_id, allocation_id=alloc, **kw
        )
        server = self.target.client.server_create(spec)
        self.target.cleanup_server(server.id)
        return server
