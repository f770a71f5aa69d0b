"""The limits hold across processes: two gunicorn servers (separate processes, as two workers
or two machines would be) share one budget through the cache, over real HTTP on loopback.

Failed logins for one account alternate between the two servers: 3 on A, 2 on B. With a cache
per process (Django's LocMemCache, the old default) each server would have seen fewer than 5
and let the next try through; with the shared cache the 6th try is refused on either server.
Run with the database cache (the default) and with Redis (CACHE_URL=redis://...).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from accounts.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "right-pass-7f3e1"
TOO_MANY = "Too many failed login attempts"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"mysql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 3306}/{s['NAME']}"


def _wait_listening(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{what} exited: {proc.stderr.read() if proc.stderr else ''}"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port}")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port (no persistence), stopped afterwards."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: apt-get install -y redis-server"
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, proc, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _servers(cache_url: str, count: int = 2) -> tuple[list[str], list[subprocess.Popen]]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "givrwrld.settings_test",
            "DATABASE_URL": _database_url(),
            "CACHE_URL": cache_url,
            "TRUSTED_PROXY_COUNT": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    urls, procs = [], []
    for _ in range(count):
        port = _free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "givrwrld.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "30",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        _wait_listening(port, proc, "gunicorn")
        urls.append(f"http://127.0.0.1:{port}")
    return urls, procs


def _login(base: str, email: str, password: str, address: str) -> str:
    """The login form as a fresh browser submits it (CSRF token from the page), via our proxy."""
    # One public host name in front of both (allauth's per-account key includes the host).
    headers = {"X-Forwarded-For": address, "Host": "localhost"}
    with httpx.Client(timeout=20, follow_redirects=False) as http:
        return _submit(http, base, email, password, headers)


def _submit(http: httpx.Client, base: str, email: str, password: str, headers: dict) -> str:
    page = http.get(base + "/accounts/login/", headers=headers)
    assert page.status_code == 200, (page.status_code, page.headers, page.text[:300])
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = http.post(
        base + "/accounts/login/",
        data={"login": email, "password": password, "csrfmiddlewaretoken": token},
        headers=headers,
    )
    if response.status_code == 302:
        return "logged-in"
    assert response.status_code == 200, response.status_code
    return "too-many" if TOO_MANY in response.text else "refused"


def _prove_shared(cache_url: str) -> None:
    user = User.objects.create_user("carol@example.com", PASSWORD, first_name="C", last_name="U")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    urls, procs = _servers(cache_url)
    try:
        a, b = urls
        outcomes = []
        for i, base in enumerate([a, b, a, b, a]):
            outcomes.append(_login(base, user.email, "guess", f"198.51.100.{i + 1}"))
        # Server A has seen 3 failures, B 2: only a shared count knows it is 5.
        sixth_a = _login(a, user.email, PASSWORD, "198.51.100.50")
        sixth_b = _login(b, user.email, PASSWORD, "198.51.100.51")
        # Another customer is untouched.
        other = User.objects.create_user("dan@example.com", PASSWORD, first_name="D", last_name="U")
        EmailAddress.objects.create(user=other, email=other.email, verified=True, primary=True)
        dan = _login(b, other.email, PASSWORD, "198.51.100.52")
        assert outcomes == ["refused"] * 5
        assert (sixth_a, sixth_b, dan) == ("too-many", "too-many", "logged-in")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


def test_two_processes_share_the_database_cache(db):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    cache.clear()
    try:
        _prove_shared("")
    finally:
        cache.clear()


def test_two_processes_share_redis(db, redis_url):
    _prove_shared(redis_url)
