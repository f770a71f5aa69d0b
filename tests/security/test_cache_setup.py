"""The shared cache: a database table by default, created by `migrate`; Redis by CACHE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_migrate_creates_the_cache_table():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE givrwrld_cache")
    assert "givrwrld_cache" not in connection.introspection.table_names()
    call_command("migrate", verbosity=0)
    assert "givrwrld_cache" in connection.introspection.table_names()
    cache.set("probe", {"n": 1}, 30)
    assert cache.get("probe") == {"n": 1}
    cache.delete("probe")


PRINT_CACHES = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.CACHES['default']))"
)


def _caches(cache_url: str | None) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIVRWRLD_SKIP_DOTENV": "1",
        "DJANGO_SETTINGS_MODULE": "givrwrld.settings",
        "DEBUG": "1",
    }
    if cache_url is not None:
        env["CACHE_URL"] = cache_url
    return subprocess.run(
        [sys.executable, "-c", PRINT_CACHES],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("cache_url", "backend", "location"),
    [
        (None, "django.core.cache.backends.db.DatabaseCache", "givrwrld_cache"),
        ("", "django.core.cache.backends.db.DatabaseCache", "givrwrld_cache"),
        ("db", "django.core.cache.backends.db.DatabaseCache", "givrwrld_cache"),
        (
            "redis://cache.internal:6379/2",
            "django.core.cache.backends.redis.RedisCache",
            "redis://cache.internal:6379/2",
        ),
        (
            "rediss://:pw@cache.internal:6380/0",
            "django.core.cache.backends.redis.RedisCache",
            "rediss://:pw@cache.internal:6380/0",
        ),
    ],
)
def test_cache_url_chooses_the_backend(cache_url, backend, location):
    done = _caches(cache_url)
    assert done.returncode == 0, done.stderr
    chosen = json.loads(done.stdout)
    assert (chosen["BACKEND"], chosen["LOCATION"]) == (backend, location)


@pytest.mark.parametrize("cache_url", ["memcached://x:11211", "locmem://", "redis"])
def test_an_unknown_cache_url_stops_start_up(cache_url):
    done = _caches(cache_url)
    assert done.returncode != 0
    assert "CACHE_URL must be empty, db or redis://" in done.stderr
