"""The demo's alert target: alertfile:// appends one JSON line per alert (core/alert_file.py);
`make run` puts it in .env (scripts/run.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from core.alerts import alert_send
from core.models import Alert

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_an_alert_is_delivered_to_the_file(tmp_path, settings):
    target = tmp_path / "deep" / "alerts.jsonl"
    settings.ALERT_URLS = [f"alertfile://{target}"]
    assert alert_send(title="Order #7: provisioning failed ✗", body="panel said 500", order_id=7)
    assert alert_send(title="second", body="b")
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [(r["title"], r["body"]) for r in rows] == [
        ("Order #7: provisioning failed ✗", "panel said 500"),
        ("second", "b"),
    ]
    assert list(Alert.objects.order_by("pk").values_list("delivered", "order_id")) == [
        (True, 7),
        (True, None),
    ]


@pytest.mark.django_db
def test_a_relative_or_directory_target_is_not_delivered(tmp_path, settings):
    settings.ALERT_URLS = [f"alertfile://{tmp_path}/"]
    assert alert_send(title="t", body="b") is False
    assert Alert.objects.get().delivered is False


def _load_run(monkeypatch, tmp_path):
    monkeypatch.setenv("GIVRWRLD_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GIVRWRLD_ENV_FILE", str(tmp_path / ".env"))
    spec = importlib.util.spec_from_file_location("run_under_test", ROOT / "scripts" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "run_under_test", module)
    spec.loader.exec_module(module)
    return module


def test_make_run_sets_the_alert_file_in_env(monkeypatch, tmp_path):
    run = _load_run(monkeypatch, tmp_path)
    run.write_env_once()
    want = f"ALERT_URLS=alertfile://{(tmp_path / 'var' / 'alerts.jsonl').resolve()}"
    lines = (tmp_path / ".env").read_text().splitlines()
    assert lines.count(want) == 1
    # An older .env without it gets it once; a second run adds nothing.
    (tmp_path / ".env").write_text("# old\nDEBUG=1\n")
    run.write_env_once()
    run.write_env_once()
    assert (tmp_path / ".env").read_text().splitlines() == ["# old", "DEBUG=1", want]
