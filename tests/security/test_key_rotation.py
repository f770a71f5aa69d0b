"""`manage.py secrets rotate`: every secret re-encrypted under the new AES_KEY, all or nothing,
the old key from a file, standard input or OLD_AES_KEY (never an argument)."""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.crypto import decrypt, encrypt, generate_key, parse_key
from core.models import Secret
from core.secrets import secret_get, secret_set

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
VALUES = {
    "panel.PANEL_URL": "https://panel.example.com",
    "panel.PANEL_APP_KEY": "ptla_" + "A" * 43,
    "panel.PANEL_CLIENT_KEY": "ptlc_" + "é😀" * 10,
    "x." + "n" * 180: "",
}


@pytest.fixture
def stored(settings):
    """The values stored under the current (old) key; returns (old_key, new_key)."""
    old = settings.AES_KEY
    for name, value in VALUES.items():
        secret_set(name=name, value=value)
    new = generate_key()
    settings.AES_KEY = new
    return old, new


def _ciphertexts() -> dict[str, bytes]:
    return {r.name: bytes(r.ciphertext) for r in Secret.objects.all()}


def _rotate(*args: str, **kwargs) -> str:
    out = io.StringIO()
    call_command("secrets", "rotate", *args, stdout=out, **kwargs)
    return out.getvalue().strip()


def test_round_trip_from_a_key_file(stored, tmp_path, settings):
    old, new = stored
    before = _ciphertexts()
    key_file = tmp_path / "old.key"
    key_file.write_text(old + "\n")
    assert (
        _rotate("--old-key-file", str(key_file)) == "re-encrypted 4 secret(s) under the new AES_KEY"
    )
    after = _ciphertexts()
    assert set(after) == set(VALUES)
    for name, value in VALUES.items():
        assert after[name] != before[name]
        assert secret_get(name) == value  # under the new AES_KEY
        assert decrypt(after[name], associated_data=name, key=parse_key(new)) == value
        with pytest.raises(Exception, match="cannot be decrypted"):
            decrypt(after[name], associated_data=name, key=parse_key(old))
    # Running it again changes nothing: every value already opens with the new key.
    assert _rotate("--old-key-file", str(key_file)) == (
        "re-encrypted 0 secret(s) under the new AES_KEY; 4 already under it"
    )
    assert _ciphertexts() == after
    # And back again, with the keys swapped: the values survive a double rotation.
    key_file.write_text(new)
    settings.AES_KEY = old
    assert _rotate("--old-key-file", str(key_file)).startswith("re-encrypted 4 secret(s)")
    assert {name: secret_get(name) for name in VALUES} == VALUES


def test_old_key_from_the_environment_or_stdin(stored, monkeypatch):
    old, _ = stored
    monkeypatch.setenv("OLD_AES_KEY", old)
    assert _rotate().startswith("re-encrypted 4 secret(s)")
    assert {name: secret_get(name) for name in VALUES} == VALUES


def test_old_key_from_stdin(stored, monkeypatch):
    old, _ = stored
    monkeypatch.setattr(sys, "stdin", io.StringIO(old + "\n"))
    assert _rotate("--old-key-file", "-").startswith("re-encrypted 4 secret(s)")
    assert {name: secret_get(name) for name in VALUES} == VALUES


def test_one_value_under_an_unknown_key_changes_nothing(stored, monkeypatch):
    """All or nothing: a row that opens with neither key aborts the whole rotation."""
    old, _ = stored
    stranger = parse_key(generate_key())
    row = Secret.objects.get(name="panel.PANEL_URL")
    row.ciphertext = encrypt("x", associated_data=row.name, key=stranger)
    row.save()
    before = _ciphertexts()
    monkeypatch.setenv("OLD_AES_KEY", old)
    with pytest.raises(CommandError, match=re.escape("'panel.PANEL_URL' opens with neither")):
        _rotate()
    assert _ciphertexts() == before


def test_a_row_already_under_the_new_key_is_kept(stored, monkeypatch):
    old, _ = stored
    secret_set(name="added.after.switch", value="fresh")  # stored under the new AES_KEY
    before = bytes(Secret.objects.get(name="added.after.switch").ciphertext)
    os.environ["OLD_AES_KEY"] = old
    try:
        assert _rotate() == ("re-encrypted 4 secret(s) under the new AES_KEY; 1 already under it")
    finally:
        del os.environ["OLD_AES_KEY"]
    assert bytes(Secret.objects.get(name="added.after.switch").ciphertext) == before
    assert secret_get("added.after.switch") == "fresh"


@pytest.mark.parametrize(
    ("old_key", "message"),
    [
        (None, "Give the old key with --old-key-file PATH or env OLD_AES_KEY."),
        ("", "Give the old key with --old-key-file PATH or env OLD_AES_KEY."),
        ("not-a-key", "the old key must be 32 bytes"),
        (base64.b64encode(b"k" * 16).decode(), "the old key must be 32 bytes"),
    ],
)
def test_missing_or_malformed_old_key_changes_nothing(stored, monkeypatch, old_key, message):
    monkeypatch.delenv("OLD_AES_KEY", raising=False)
    if old_key is not None:
        monkeypatch.setenv("OLD_AES_KEY", old_key)
    before = _ciphertexts()
    with pytest.raises(CommandError, match=message):
        _rotate()
    assert _ciphertexts() == before


def test_the_same_key_twice_is_refused(settings, monkeypatch):
    secret_set(name="a", value="1")
    before = _ciphertexts()
    monkeypatch.setenv("OLD_AES_KEY", settings.AES_KEY)
    with pytest.raises(CommandError, match="same as AES_KEY"):
        _rotate()
    assert _ciphertexts() == before


def test_the_wrong_old_key_changes_nothing(stored, tmp_path):
    before = _ciphertexts()
    key_file = tmp_path / "old.key"
    key_file.write_text(generate_key())
    with pytest.raises(CommandError, match="opens with neither"):
        _rotate("--old-key-file", str(key_file))
    assert _ciphertexts() == before


def test_an_unreadable_key_file_is_a_clear_error(stored, tmp_path):
    with pytest.raises(CommandError, match="cannot read the old key file: No such file"):
        _rotate("--old-key-file", str(tmp_path / "missing.key"))


def test_the_command_line_has_no_key_option():
    """The key never travels as an argument (it would show in `ps` and shell history)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "secrets", "rotate", "--help"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "givrwrld.settings_test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--old-key-file" in done.stdout
    assert "--old-key " not in done.stdout and "--key" not in done.stdout
