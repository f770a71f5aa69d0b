"""`make run`'s launcher (scripts/run.py) stops cleanly and starts only on free ports.

Started on free ports with SQLite and its state in a temporary directory, then Ctrl-C as a
terminal sends it (SIGINT to the launcher's process group), with one gunicorn worker frozen
(SIGSTOP: it cannot act on SIGTERM, like the hung worker of the review). Afterwards no process
it started is left and every port binds again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = (
    "SECRET_KEY",
    "AES_KEY",
    "INTERNAL_API_TOKEN",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "PANEL_SANDBOX_APP_KEY",
    "PANEL_SANDBOX_CLIENT_KEY",
)


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _launcher_env(tmp_path: Path, ports: list[int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIVRWRLD_", "DJANGO_"))}
    for name in ("DATABASE_URL", "CACHE_URL", *SECRET_NAMES, "STRIPE_API_BASE", "API_URL"):
        env.pop(name, None)
    env.update(
        {
            "GIVRWRLD_SKIP_DOTENV": "1",  # never the checkout's own .env
            "GIVRWRLD_WEB_PORT": str(ports[0]),
            "GIVRWRLD_PANEL_PORT": str(ports[1]),
            "GIVRWRLD_STRIPE_PORT": str(ports[2]),
            "GIVRWRLD_VAR_DIR": str(tmp_path),
            "GIVRWRLD_ENV_FILE": str(tmp_path / ".env"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "WORKER_TICK_SECONDS": "1",
        }
    )
    return env


class Output:
    """The launcher's output, read in a thread; `wait_for(text)` until a line contains it."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self.lines.append("<eof>")
            self._seen.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        with self._seen:
            return self._seen.wait_for(
                lambda: any(text in line or line == "<eof>" for line in self.lines), timeout
            ) and any(text in line for line in self.lines)

    def text(self) -> str:
        return "".join(self.lines)


def test_ctrl_c_stops_everything_and_frees_the_ports(tmp_path):
    ports = _free_ports(3)
    launcher = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        env=_launcher_env(tmp_path, ports),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group, like the shell's foreground job
    )
    output = Output(launcher)
    try:
        assert output.wait_for("GIVRwrld is running", timeout=240), output.text()
        started = _descendants(launcher.pid)
        commands = {pid: _cmdline(pid) for pid in started}
        gunicorn = [pid for pid, cmd in commands.items() if "gunicorn" in cmd]
        # The master and its two workers, both sandboxes, the worker.
        assert len(gunicorn) == 3, commands
        assert sum("scripts/sandbox.py" in c for c in commands.values()) == 2, commands
        assert sum("manage.py worker" in c for c in commands.values()) == 1, commands

        # No secret on any command line (they are visible to every user in `ps`).
        env_file = dict(
            line.split("=", 1)
            for line in (tmp_path / ".env").read_text().splitlines()
            if "=" in line
        )
        for name in SECRET_NAMES:
            value = env_file[name]
            for pid, cmd in commands.items():
                assert value not in cmd, f"{name} on the command line of {pid}: {cmd}"
        assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"

        # Quiet: no request lines, no per-tick lines (the tick runs every second here).
        assert output.wait_for("<never printed>", timeout=3) is False
        text = output.text()
        assert "worker_tick" not in text, text
        assert "Reconcile:" not in text, text
        assert "GET /" not in text, text

        # A worker that cannot act on SIGTERM, then Ctrl-C.
        workers = [pid for pid in gunicorn if pid not in _children().get(launcher.pid, [])]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGSTOP)
        os.killpg(launcher.pid, signal.SIGINT)
        # Bounded wait (a hang detector, not a timing assertion): the launcher's own budget is
        # 6 s of grace, then SIGKILL.
        assert launcher.wait(timeout=10) == 0, output.text()
        left = [pid for pid in started if _alive(pid)]
        assert left == [], {pid: commands[pid] for pid in left}
        assert [port for port in ports if not _bindable(port)] == []
        assert "Stopping GIVRwrld" in output.text()
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait(timeout=10)
        for pid in _descendants(launcher.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_port_in_use_is_reported_by_name_before_anything_starts(tmp_path):
    ports = _free_ports(3)
    holder = socket.socket()
    holder.bind(("127.0.0.1", ports[1]))
    holder.listen()
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            env=_launcher_env(tmp_path, ports),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.close()
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Cannot start GIVRwrld, nothing was started:",
        f"  port {ports[1]} for the panel sandbox (GIVRWRLD_PANEL_PORT) is already in use on "
        "127.0.0.1",
        "Stop what holds them, or pick other ports with those variables.",
    ]
    # Nothing was set up: no .env, no database, no state files.
    assert sorted(p.name for p in tmp_path.iterdir()) == []
