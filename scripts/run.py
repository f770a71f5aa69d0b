#!/usr/bin/env python
"""`make run`: set up and start the whole system on the embedded default.

Writes `.env` once (generated secrets, sandbox URLs), migrates the SQLite database, starts the
panel sandbox and the Stripe sandbox on loopback, loads the demo catalogue, then runs the web
server (gunicorn, 127.0.0.1:3001) and a worker until Ctrl-C.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var"
ENV_FILE = ROOT / ".env"
PY = sys.executable

WEB_PORT = int(os.environ.get("GIVRWRLD_WEB_PORT", "3001"))
PANEL_PORT = int(os.environ.get("GIVRWRLD_PANEL_PORT", "8081"))
STRIPE_PORT = int(os.environ.get("GIVRWRLD_STRIPE_PORT", "12111"))


def _token(prefix: str, length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def write_env_once() -> None:
    if ENV_FILE.exists():
        return
    values = {
        "DEBUG": "1",
        "SANDBOX_ALLOWED": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AES_KEY": base64.b64encode(os.urandom(32)).decode(),
        "API_URL": f"http://127.0.0.1:{WEB_PORT}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "INTERNAL_API_TOKEN": secrets.token_urlsafe(32),
        "STRIPE_SECRET_KEY": _token("sk_test_sandbox_", 24),
        "STRIPE_WEBHOOK_SECRET": _token("whsec_", 32),
        "STRIPE_API_BASE": f"http://127.0.0.1:{STRIPE_PORT}",
        # The panel sandbox's root admin keys (48 characters, as the panel makes them).
        "PANEL_SANDBOX_APP_KEY": _token("ptla_", 43),
        "PANEL_SANDBOX_CLIENT_KEY": _token("ptlc_", 43),
        "DEMO_PASSWORD": secrets.token_urlsafe(9),
    }
    lines = ["# Written once by `make run` for the offline demo. Keep it private.\n"]
    lines += [f"{k}={v}\n" for k, v in values.items()]
    ENV_FILE.write_text("".join(lines))
    ENV_FILE.chmod(0o600)


def load_env() -> dict[str, str]:
    env = dict(os.environ)
    for line in ENV_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env.setdefault(key.strip(), value.strip())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for_port(port: int, proc: subprocess.Popen[bytes], name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with status {proc.returncode}; see its output above.")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{name} did not start listening on 127.0.0.1:{port} within {timeout}s.")


def main() -> None:
    from catalog.demo import stripe_prices  # plain data, no Django needed

    VAR.mkdir(exist_ok=True)
    write_env_once()
    env = load_env()
    prices_file = VAR / "stripe-prices.json"
    import json

    prices_file.write_text(json.dumps(stripe_prices(), indent=2))

    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)

    procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
        procs.append((name, proc))
        return proc

    def stop_all(*_: object) -> None:
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for _name, proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)

    panel_url = f"http://127.0.0.1:{PANEL_PORT}"
    panel = start(
        "panel sandbox",
        [
            PY,
            "-m",
            "sandbox.panel",
            "--host",
            "127.0.0.1",
            "--port",
            str(PANEL_PORT),
            "--state",
            str(VAR / "panel-state.json"),
            "--app-key",
            env["PANEL_SANDBOX_APP_KEY"],
            "--client-key",
            env["PANEL_SANDBOX_CLIENT_KEY"],
            "--install-delay",
            "5",
        ],
    )
    stripe = start(
        "stripe sandbox",
        [
            PY,
            "-m",
            "sandbox.stripe",
            "--host",
            "127.0.0.1",
            "--port",
            str(STRIPE_PORT),
            "--api-key",
            env["STRIPE_SECRET_KEY"],
            "--webhook-secret",
            env["STRIPE_WEBHOOK_SECRET"],
            "--webhook-url",
            f"{env['API_URL']}/api/stripe/webhook",
            "--prices",
            str(prices_file),
            "--state",
            str(VAR / "stripe-state.json"),
        ],
    )
    wait_for_port(PANEL_PORT, panel, "panel sandbox")
    wait_for_port(STRIPE_PORT, stripe, "stripe sandbox")
    subprocess.run([*manage, "demo_setup", "--panel-url", panel_url], env=env, check=True, cwd=ROOT)

    web = start(
        "web",
        [
            PY,
            "-m",
            "gunicorn",
            "givrwrld.wsgi:application",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
    )
    start("worker", [*manage, "worker", "--", "--interval", "0.5", "--no-reload"])
    wait_for_port(WEB_PORT, web, "web")
    print(
        "\n"
        f"  GIVRwrld is running: {env['API_URL']}/\n"
        f"  Customer login:  demo@givrwrld.test / {env['DEMO_PASSWORD']}\n"
        f"  Operator: {env['API_URL']}/admin/  admin@givrwrld.test / {env['DEMO_PASSWORD']}\n"
        f"  Panel sandbox: {panel_url}   Stripe sandbox: {env['STRIPE_API_BASE']}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )
    while True:
        for name, proc in procs:
            if proc.poll() is not None:
                print(f"{name} exited with status {proc.returncode}; stopping.", flush=True)
                stop_all()
        time.sleep(1)


if __name__ == "__main__":
    main()
