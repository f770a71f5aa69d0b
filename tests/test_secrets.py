"""The secrets table: AES-256-GCM at rest, names listed, values never printed by `list`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from core.errors import ConfigurationError
from core.models import Secret
from core.secrets import secret_get, secret_set

pytestmark = pytest.mark.django_db

KEY = "ptla_ThisIsAPanelKeyThatMustNeverBeSeenInTheDatabase"


def test_roundtrip_and_not_plain_text_in_the_database():
    secret_set(name="panel.PANEL_APP_KEY", value=KEY)
    assert secret_get("panel.PANEL_APP_KEY") == KEY
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, ciphertext FROM secrets")
        rows = cursor.fetchall()
    assert len(rows) == 1
    raw = bytes(rows[0][1])
    assert KEY.encode() not in raw
    assert b"ThisIsAPanelKey" not in raw
    assert len(raw) == 12 + len(KEY) + 16  # nonce + ciphertext + GCM tag


def test_ciphertext_is_bound_to_its_name():
    secret_set(name="a", value="one")
    secret_set(name="b", value="two")
    a = Secret.objects.get(name="a")
    Secret.objects.filter(name="b").update(ciphertext=a.ciphertext)
    with pytest.raises(ConfigurationError):
        secret_get("b")


def test_wrong_aes_key_is_reported(settings):
    secret_set(name="x", value="y")
    settings.AES_KEY = "A" * 43 + "="
    with pytest.raises(ConfigurationError, match="AES_KEY is not the key"):
        secret_get("x")


def test_command_set_get_list():
    out = StringIO()
    call_command("secrets", "set", "panel.PANEL_URL", "https://panel.example.com", stdout=out)
    call_command("secrets", "set", "panel.PANEL_APP_KEY", KEY, stdout=out)
    listing = StringIO()
    call_command("secrets", "list", stdout=listing)
    assert listing.getvalue().split() == ["panel.PANEL_APP_KEY", "panel.PANEL_URL"]
    assert KEY not in listing.getvalue()
    got = StringIO()
    call_command("secrets", "get", "panel.PANEL_URL", stdout=got)
    assert got.getvalue().strip() == "https://panel.example.com"
