"""JSON persistence, restart, and ``python -m sandbox.panel``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from sandbox.panel import PanelSandbox

from .conftest import make_client, server_payload

ROOT = Path(__file__).resolve().parents[2]


def test_state_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "panel.json"
    sb = PanelSandbox.from_seed(persist_path=state)
    with make_client(sb) as c:
        assert c.post("/api/application/servers", json=server_payload()).status_code == 201
        c.post(
            "/api/application/users",
            json={"email": "p@x.com", "username": "persist", "first_name": "P", "last_name": "Q"},
        )
    assert json.loads(state.read_text())["servers"][0]["external_id"] == "order-1001"
    again = PanelSandbox.from_seed(persist_path=state)
    with make_client(again) as c:
        assert c.get("/api/application/servers/external/order-1001").status_code == 200
        assert c.get("/api/application/users?filter[username]=persist").json()["data"]
        r = c.post(
            "/api/application/servers",
            json=server_payload(external_id="order-2", allocation={"default": 2}),
        )
        assert r.json()["attributes"]["id"] == 2  # id counters persisted too


def test_cli_runs_and_prints_keys(tmp_path: Path) -> None:
    app_key = "ptla_" + "K" * 43
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.panel",
            "--port",
            "0",
            "--state",
            str(tmp_path / "s.json"),
            "--app-key",
            app_key,
            "--install-mode",
            "never",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert app_key in proc.stdout.readline()
        r = httpx.get(
            f"{url}/api/application/users",
            headers={"Authorization": f"Bearer {app_key}", "Accept": "application/json"},
        )
        assert r.status_code == 200
        r = httpx.get(f"{url}/_sandbox/faults", headers={"Authorization": f"Bearer {app_key}"})
        assert r.json()["install_mode"] == "never"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert (tmp_path / "s.json").exists()
