"""Production defaults with DEBUG off, and `check --deploy` clean with docs/deploy.md's block."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def documented_production_env() -> dict[str, str]:
    """The `# Production environment` block of docs/deploy.md, as a dict."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    match = re.search(r"```sh\n# Production environment\n(.*?)```", text, re.S)
    assert match, "docs/deploy.md lost its production environment block"
    env = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip()
    return env


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIVRWRLD_SKIP_DOTENV": "1",
        "DJANGO_SETTINGS_MODULE": "givrwrld.settings",
        # check --deploy does not open the database; SQLite keeps the test free of drivers.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}",
    }
    base.update(env)
    return subprocess.run(
        [sys.executable, *args], env=base, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _fill_placeholders(env: dict[str, str]) -> dict[str, str]:
    """The docs' <...> placeholders and elided keys, replaced by real-looking values."""
    filled = dict(env)
    filled["SECRET_KEY"] = secrets.token_urlsafe(50)
    filled["AES_KEY"] = "dGVzdC1hZXMta2V5LTMyLWJ5dGVzLWxvbmctISEhISE="
    filled["INTERNAL_API_TOKEN"] = secrets.token_urlsafe(32)
    filled["STRIPE_SECRET_KEY"] = "sk_live_" + "x" * 24
    filled["STRIPE_WEBHOOK_SECRET"] = "whsec_" + "x" * 32
    filled.pop("DATABASE_URL")
    for key, value in filled.items():
        assert "<" not in value, f"{key} still holds a placeholder"
    return filled


def test_check_deploy_reports_nothing_with_the_documented_settings(tmp_path):
    env = _fill_placeholders(documented_production_env())
    assert env["DEBUG"] == "0"
    done = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced)."


def test_without_the_hsts_subdomain_lines_only_those_two_warnings(tmp_path):
    """What the docs promise when an operator drops the last two lines."""
    env = _fill_placeholders(documented_production_env())
    del env["SECURE_HSTS_INCLUDE_SUBDOMAINS"], env["SECURE_HSTS_PRELOAD"]
    done = _run(["manage.py", "check", "--deploy"], env, tmp_path)
    found = sorted(set(re.findall(r"\(security\.W\d+\)", done.stdout + done.stderr)))
    assert found == ["(security.W005)", "(security.W021)"]


PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({k: getattr(s, k) for k in ("
    "'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'ALLAUTH_TRUSTED_PROXY_COUNT')}))"
)
MINIMAL = {"DEBUG": "0", "SECRET_KEY": "x" * 60}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            MINIMAL,
            {
                "SECURE_SSL_REDIRECT": True,
                "SESSION_COOKIE_SECURE": True,
                "CSRF_COOKIE_SECURE": True,
                "SECURE_HSTS_SECONDS": 31536000,
                "SECURE_PROXY_SSL_HEADER": None,
                "ALLAUTH_TRUSTED_PROXY_COUNT": 0,
            },
        ),
        (
            {**MINIMAL, "TRUSTED_PROXY_COUNT": "2", "SECURE_HSTS_SECONDS": "600"},
            {
                "SECURE_SSL_REDIRECT": True,
                "SESSION_COOKIE_SECURE": True,
                "CSRF_COOKIE_SECURE": True,
                "SECURE_HSTS_SECONDS": 600,
                "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
                "ALLAUTH_TRUSTED_PROXY_COUNT": 2,
            },
        ),
        (
            {**MINIMAL, "SECURE_SSL_REDIRECT": "0", "SECURE_PROXY_SSL_HEADER": "X-Scheme"},
            {
                "SECURE_SSL_REDIRECT": False,
                "SESSION_COOKIE_SECURE": True,
                "CSRF_COOKIE_SECURE": True,
                "SECURE_HSTS_SECONDS": 31536000,
                "SECURE_PROXY_SSL_HEADER": ["HTTP_X_SCHEME", "https"],
                "ALLAUTH_TRUSTED_PROXY_COUNT": 0,
            },
        ),
        (
            {"DEBUG": "1"},
            {
                "SECURE_SSL_REDIRECT": False,
                "SESSION_COOKIE_SECURE": False,
                "CSRF_COOKIE_SECURE": False,
                "SECURE_HSTS_SECONDS": 0,
                "SECURE_PROXY_SSL_HEADER": None,
                "ALLAUTH_TRUSTED_PROXY_COUNT": 0,
            },
        ),
    ],
)
def test_debug_off_means_https_only_unless_turned_off(tmp_path, env, expected):
    done = _run(["-c", PRINT_SETTINGS], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected


@pytest.mark.parametrize("bad", ["-1", "one"])
def test_a_bad_proxy_count_stops_start_up(tmp_path, bad):
    done = _run(["-c", PRINT_SETTINGS], {**MINIMAL, "TRUSTED_PROXY_COUNT": bad}, tmp_path)
    assert done.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in done.stderr


def test_https_redirect_and_proxy_header_over_the_middleware(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    plain = Client().get("/", headers={"X-Forwarded-Proto": "http"})
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/"
    tls = Client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert tls.status_code == 200
    assert tls["Strict-Transport-Security"] == "max-age=3600"
    # The load balancer's probe reaches gunicorn directly, over plain HTTP.
    assert Client().get("/healthz").status_code == 200


def test_a_short_forwarded_chain_is_refused_not_500(db, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    response = Client().post(
        "/accounts/login/",
        {"login": "a@example.com", "password": "x"},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_proxy_chain"
