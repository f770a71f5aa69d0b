#!/usr/bin/env python
"""`make run`: set up and start the whole system on the embedded default.

Checks that its ports are free (before anything starts), writes `.env` once (generated secrets,
sandbox URLs), migrates the SQLite database, starts the panel sandbox and the Stripe sandbox on
loopback, loads the demo catalogue, then runs the web server (gunicorn, 127.0.0.1:3001) and a
worker until Ctrl-C.

Stopping: every child runs in its own process group (gunicorn's workers share their master's).
Ctrl-C or SIGTERM sends SIGTERM to each group, waits GRACE_SECONDS, then SIGKILLs what is left
of every group, so a hung worker cannot keep a port. A second Ctrl-C kills at once.

Secrets travel in the environment (children inherit it), never on a command line. The log is
quiet by default (no access log, no sandbox request lines); GIVRWRLD_VERBOSE=1 shows them.

Overrides (tests use them): GIVRWRLD_WEB_PORT, GIVRWRLD_PANEL_PORT, GIVRWRLD_STRIPE_PORT,
GIVRWRLD_VAR_DIR (state files), GIVRWRLD_ENV_FILE (the generated `.env`).
"""

from __future__ import annotations

import base64
import errno
import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = Path(os.environ.get("GIVRWRLD_VAR_DIR") or ROOT / "var")
ENV_FILE = Path(os.environ.get("GIVRWRLD_ENV_FILE") or ROOT / ".env")
PY = sys.executable

WEB_PORT = int(os.environ.get("GIVRWRLD_WEB_PORT", "3001"))
PANEL_PORT = int(os.environ.get("GIVRWRLD_PANEL_PORT", "8081"))
STRIPE_PORT = int(os.environ.get("GIVRWRLD_STRIPE_PORT", "12111"))
VERBOSE = os.environ.get("GIVRWRLD_VERBOSE", "") not in ("", "0")
# SIGTERM, then this long before SIGKILL: the whole stop stays under 10 s.
GRACE_SECONDS = 6.0
PORTS = {
    "web (GIVRWRLD_WEB_PORT)": WEB_PORT,
    "panel sandbox (GIVRWRLD_PANEL_PORT)": PANEL_PORT,
    "stripe sandbox (GIVRWRLD_STRIPE_PORT)": STRIPE_PORT,
}


def _token(prefix: str, length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def ports_in_use() -> list[str]:
    """The ports we need that something else holds (bind as gunicorn will: SO_REUSEADDR, so a
    socket of our own last run in TIME_WAIT does not count, a listener does)."""
    busy = []
    for name, port in PORTS.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                busy.append(f"  port {port} for the {name} is already in use on 127.0.0.1")
    return busy


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
    ENV_FILE.touch(mode=0o600)
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


class Stop(Exception):
    """Ctrl-C or SIGTERM arrived."""


class Launcher:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = False

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        # A process group of its own: the terminal's Ctrl-C reaches only this launcher, which
        # then stops the groups in order; killpg reaches gunicorn's workers with their master.
        proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def _signal_groups(self, sig: int) -> None:
        for _name, proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass  # the whole group is gone

    def stop(self) -> None:
        self._signal_groups(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        # Always: a group leader that exited may have left a worker behind in its group.
        self._signal_groups(signal.SIGKILL)
        for name, proc in self.procs:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                print(f"{name} (pid {proc.pid}) did not die on SIGKILL", file=sys.stderr)

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping:
            self._signal_groups(signal.SIGKILL)  # a second Ctrl-C: no more waiting
            return
        self.stopping = True
        raise Stop

    def wait_for_http(self, url: str, proc: subprocess.Popen[bytes], name: str) -> None:
        """Until `url` answers 200 from our own process (which is still alive)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with status {proc.returncode}; see above.")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise SystemExit(f"{name} did not answer {url} within 60 s.")

    def wait_for_port(self, port: int, proc: subprocess.Popen[bytes], name: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with status {proc.returncode}; see above.")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise SystemExit(f"{name} did not start listening on 127.0.0.1:{port} within 30 s.")


def main() -> int:
    from catalog.demo import stripe_prices  # plain data, no Django needed

    busy = ports_in_use()
    if busy:
        print("Cannot start GIVRwrld, nothing was started:", *busy, sep="\n", file=sys.stderr)
        print("Stop what holds them, or pick other ports with those variables.", file=sys.stderr)
        return 1

    VAR.mkdir(parents=True, exist_ok=True)
    write_env_once()
    env = load_env()
    prices_file = VAR / "stripe-prices.json"
    prices_file.write_text(json.dumps(stripe_prices(), indent=2))
    manage = [PY, str(ROOT / "manage.py")]

    launcher = Launcher(env)
    signal.signal(signal.SIGINT, launcher.on_signal)
    signal.signal(signal.SIGTERM, launcher.on_signal)
    try:
        # migrate also creates the cache table the login limits count in (core's post_migrate).
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        panel_url = f"http://127.0.0.1:{PANEL_PORT}"
        sandbox = [PY, str(ROOT / "scripts" / "sandbox.py")]
        panel = launcher.start(
            "panel sandbox",
            [
                *sandbox,
                "panel",
                "--host",
                "127.0.0.1",
                "--port",
                str(PANEL_PORT),
                "--state",
                str(VAR / "panel-state.json"),
                "--install-delay",
                "5",
            ],
        )
        stripe = launcher.start(
            "stripe sandbox",
            [
                *sandbox,
                "stripe",
                "--host",
                "127.0.0.1",
                "--port",
                str(STRIPE_PORT),
                "--webhook-url",
                f"{env['API_URL']}/api/stripe/webhook",
                "--prices",
                str(prices_file),
                "--state",
                str(VAR / "stripe-state.json"),
                *([] if VERBOSE else ["--quiet"]),
            ],
        )
        launcher.wait_for_port(PANEL_PORT, panel, "panel sandbox")
        launcher.wait_for_port(STRIPE_PORT, stripe, "stripe sandbox")
        subprocess.run(
            [*manage, "demo_setup", "--panel-url", panel_url], env=env, check=True, cwd=ROOT
        )
        web = launcher.start(
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
                # gunicorn's own stop: workers get this long after SIGTERM before its SIGKILL.
                "--graceful-timeout",
                "4",
                "--log-level",
                "info" if VERBOSE else "warning",
                *(["--access-logfile", "-"] if VERBOSE else []),
            ],
        )
        launcher.start("worker", [*manage, "worker", "--", "--interval", "0.5", "--no-reload"])
        launcher.wait_for_http(f"http://127.0.0.1:{WEB_PORT}/healthz", web, "web")
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
            for name, proc in launcher.procs:
                if proc.poll() is not None:
                    print(f"{name} exited with status {proc.returncode}; stopping.", flush=True)
                    return 1
            time.sleep(0.5)
    except Stop:
        print("\nStopping GIVRwrld ...", flush=True)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"{exc.cmd[2] if len(exc.cmd) > 2 else exc.cmd} failed; stopping.", file=sys.stderr)
        return 1
    finally:
        launcher.stop()


if __name__ == "__main__":
    sys.exit(main())
