"""One list of handled Stripe events: the webhook dispatcher routes exactly those, and
docs/operators.md shows exactly those, in the same order."""

from __future__ import annotations

import re
from pathlib import Path

import stripe

from billing.events import HANDLED_EVENTS, PINNED_API_VERSION
from billing.webhooks import HANDLERS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def test_the_dispatcher_routes_exactly_the_handled_events():
    assert list(HANDLERS) == list(HANDLED_EVENTS)
    assert len(set(HANDLED_EVENTS)) == len(HANDLED_EVENTS)


def test_operators_page_shows_the_same_list():
    text = DOCS.read_text()
    block = text.split("<!-- handled-events -->", 1)[1].split("<!-- /handled-events -->", 1)[0]
    listed = re.findall(r"^- `([a-z_.]+)`$", block, re.M)
    assert listed == list(HANDLED_EVENTS)
    assert f"`{PINNED_API_VERSION}`" in text


def test_every_handled_event_is_a_stripe_event_type():
    # The SDK's webhook endpoint create params list every event type Stripe knows.
    from stripe.params import _webhook_endpoint_create_params as params

    source = Path(params.__file__).read_text()
    for name in HANDLED_EVENTS:
        assert f'"{name}"' in source, name
    assert PINNED_API_VERSION == stripe.api_version
