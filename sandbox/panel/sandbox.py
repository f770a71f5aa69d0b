"""``PanelSandbox``: the object tests and ``python -m sandbox.panel`` drive."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .app import PanelApp
from .faults import Faults
from .server import ThreadingWSGIServer, make_server
from .state import DEMO_SEED, State, validate_key


class PanelSandbox:
    """A stand-in for a Pterodactyl panel v1.11 (application API + a few client calls)."""

    def __init__(
        self,
        seed: dict[str, Any],
        *,
        persist_path: str | Path | None = None,
        clock: Callable[[], float] | None = None,
        app_key: str | None = None,
        client_key: str | None = None,
        faults: Faults | None = None,
        state: State | None = None,
    ) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self.persist_path = Path(persist_path) if persist_path else None
        self._seed = seed
        self._app_key_override = validate_key(app_key, "ptla_") if app_key else None
        self._client_key_override = validate_key(client_key, "ptlc_") if client_key else None
        self.faults = faults or Faults()
        self.state = state or self._fresh_state()
        self._apply_key_overrides()
        self.app = PanelApp(
            self.state,
            self.faults,
            self.clock,
            admin_key=lambda: self.app_key,
            reset=self.reset,
            on_mutation=self._autosave,
        )
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_seed(
        cls,
        path: str | Path | None = None,
        *,
        persist_path: str | Path | None = None,
        clock: Callable[[], float] | None = None,
        app_key: str | None = None,
        client_key: str | None = None,
    ) -> PanelSandbox:
        """Load ``path`` (default: the bundled demo seed). If ``persist_path`` exists it is a
        saved state and is loaded instead of the seed."""
        with open(path or DEMO_SEED, encoding="utf-8") as fh:
            seed = json.load(fh)
        state = None
        if persist_path and Path(persist_path).exists():
            with open(persist_path, encoding="utf-8") as fh:
                state = State.from_state_dict(json.load(fh), clock or time.time)
        return cls(
            seed,
            persist_path=persist_path,
            clock=clock,
            app_key=app_key,
            client_key=client_key,
            state=state,
        )

    def _fresh_state(self) -> State:
        return State.from_seed(self._seed, self.clock)

    def _root_admin_id(self) -> int:
        admins = sorted(u["id"] for u in self.state.users.values() if u["root_admin"])
        if not admins:
            raise ValueError("the seed has no root admin user")
        return admins[0]

    def _apply_key_overrides(self) -> None:
        admin = self._root_admin_id()
        for override, kind in (
            (self._app_key_override, "application"),
            (self._client_key_override, "account"),
        ):
            if override is None:
                continue
            for ident in [
                k
                for k, v in self.state.api_keys.items()
                if v["user_id"] == admin and v["type"] == kind
            ]:
                del self.state.api_keys[ident]
            self.state.add_api_key(admin, override, kind=kind)

    def _key(self, kind: str) -> str:
        admin = self._root_admin_id()
        for key in self.state.api_keys.values():
            if key["user_id"] == admin and key["type"] == kind:
                return str(key["identifier"] + key["secret"])
        raise ValueError(f"the root admin has no {kind} key")

    @property
    def app_key(self) -> str:
        """The seeded root admin's application key (``ptla_…``)."""
        return self._key("application")

    @property
    def client_key(self) -> str:
        """The seeded root admin's account/client key (``ptlc_…``)."""
        return self._key("account")

    # ---------------------------------------------------------------- operations
    def reset(self) -> None:
        """Back to the seed (keeps the faults object and counters)."""
        fresh = self._fresh_state()
        with self.state.lock:
            for attr in (
                "users",
                "locations",
                "nodes",
                "allocations",
                "nests",
                "eggs",
                "servers",
                "api_keys",
                "next_ids",
            ):
                setattr(self.state, attr, getattr(fresh, attr))
            self.state.panel_url = fresh.panel_url
            self._apply_key_overrides()
        self.app.buckets.clear()
        self._autosave()

    def counters(self) -> dict[str, int]:
        return self.app.counter_snapshot()

    def reset_counters(self) -> None:
        """Clear the request counters (and the rate-limit windows)."""
        self.app.reset_counters()

    def save(self) -> None:
        if self.persist_path is None:
            raise ValueError("no persist_path configured")
        self.state.save(self.persist_path)

    def _autosave(self) -> None:
        if self.persist_path is not None:
            self.state.save(self.persist_path)

    # ---------------------------------------------------------------- HTTP server
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start a threaded HTTP server in a daemon thread; return its base URL."""
        if self._server is not None:
            raise RuntimeError("already serving")
        self._server = make_server(host, port, self.app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return f"http://{host}:{self._server.server_address[1]}"

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self._thread = None
