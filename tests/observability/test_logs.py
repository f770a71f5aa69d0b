"""Logs: no secret ever, at DEBUG, over the whole flow; JSON lines carry the ids."""

from __future__ import annotations

import io
import json
import logging

import pytest
from obskit import buy_and_provision

from core.logs import ContextFilter, JsonFormatter, PlainFormatter, log_context, redact

pytestmark = pytest.mark.django_db(transaction=True)

LOUD = [
    "",
    "stripe",
    "httpx",
    "httpcore",
    "panel.client",
    "django",
    "django.db.backends",
    "django.request",
    "django.server",
    "billing",
    "provisioning",
    "core",
    "sandbox",
]


class _Capture(logging.Handler):
    """Keeps every record, rendered three ways: raw message + traceback, JSON, plain."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(ContextFilter())  # the production handler's context filter, no redaction
        self.records: list[logging.LogRecord] = []
        self.text = io.StringIO()
        self.json_lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        raw = logging.Formatter("%(name)s %(message)s").format(record)
        self.text.write(raw + "\n" + repr(record.args) + "\n")
        self.json_lines.append(JsonFormatter().format(record))
        self.text.write(PlainFormatter().format(record) + "\n")


@pytest.fixture
def captured():
    handler = _Capture()
    saved = {}
    for name in LOUD:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_no_secret_in_any_log_line(catalog, stripe_sandbox, customer, settings, captured):
    _, client = customer
    settings.PROVISION_MAX_ATTEMPTS = 2
    ok = buy_and_provision(client, stripe_sandbox, server_name="ok")
    catalog.faults.wings_down = True  # retry, give up, alert: the error paths log too
    failed = buy_and_provision(client, stripe_sandbox, server_name="down")
    from testkit import run_worker

    run_worker()
    failed.refresh_from_db()
    assert (ok.status, failed.status) == ("provisioned", "error")
    # A forged webhook: refused and logged.
    response = client.post(
        "/api/stripe/webhook",
        data="{}",
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=00"},
    )
    assert response.status_code == 400

    everything = captured.text.getvalue() + "\n".join(captured.json_lines)
    assert len(captured.records) > 20
    names = {r.name for r in captured.records}
    assert {"stripe", "panel.client", "billing.views"} <= names
    secrets = {
        "panel app key": catalog.app_key,
        "panel client key": catalog.client_key,
        "stripe secret key": settings.STRIPE_SECRET_KEY,
        "webhook secret": settings.STRIPE_WEBHOOK_SECRET,
        "AES key": settings.AES_KEY,
    }
    for what, value in secrets.items():
        assert value and value not in everything, f"the {what} appears in the logs"

    # The ids ride along: the webhook line has the event and order, the worker's the server.
    lines = [json.loads(line) for line in captured.json_lines]
    paid = [x for x in lines if x["message"].startswith("Stripe event checkout.session.completed")]
    assert paid and all(x["stripe_event_id"].startswith("evt_") for x in paid)
    assert {x["order_id"] for x in paid} == {str(ok.pk), str(failed.pk)}
    done = [x for x in lines if x["message"].startswith(f"Order #{ok.pk} provisioned")]
    assert done == [{**done[0], "order_id": ok.pk, "panel_server_id": ok.ptero_server_id}]
    creates = [x for x in lines if "POST /servers" in x["message"] and x.get("order_id")]
    assert {x["order_id"] for x in creates} == {ok.pk, failed.pk}


def test_json_formatter_and_context():
    record_out = io.StringIO()
    handler = logging.StreamHandler(record_out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.obs.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with log_context(order_id=7, stripe_event_id="evt_1"):
            with log_context(panel_server_id=12):
                logger.warning("inner %s", "x")
            logger.warning("outer")
        logger.warning("none")
    finally:
        logger.removeHandler(handler)
    inner, outer, none = (json.loads(line) for line in record_out.getvalue().splitlines())
    assert inner["message"] == "inner x"
    assert (inner["order_id"], inner["stripe_event_id"], inner["panel_server_id"]) == (
        7,
        "evt_1",
        12,
    )
    assert inner["level"] == "WARNING" and inner["logger"] == "tests.obs.json"
    assert "panel_server_id" not in outer and outer["order_id"] == 7
    assert set(none) == {"time", "level", "logger", "message"}


def test_redaction_masks_secret_shapes(settings):
    text = redact(
        "key ptla_"
        + "a" * 43
        + " sk_live_abcdefghijkl whsec_abcdefghij Bearer tok3n-value-x "
        + settings.AES_KEY
    )
    assert "ptla_a" not in text and "sk_live" not in text and "whsec_" not in text
    assert "tok3n" not in text and settings.AES_KEY not in text
    assert text.count("[redacted]") == 5
