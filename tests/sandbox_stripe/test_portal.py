"""Customer Portal sessions (sandbox/stripe/portal.py) through the real SDK: strict
parameters, the session object, the page, and the card update that pays the open invoice."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import stripe

from sandbox.stripe import StripeSandbox

from .conftest import API_KEY, SECRET, Recorder, make_client
from .test_billing import PRICES, T0, subscribe, ts

RETURN = "https://shop.test/orders/42"


@pytest.fixture
def sb(recorder: Recorder) -> Iterator[StripeSandbox]:
    sandbox = StripeSandbox(
        api_key=API_KEY, webhook_secret=SECRET, deliver=recorder, prices=PRICES, clock=lambda: T0
    )
    sandbox.serve()
    yield sandbox
    sandbox.shutdown()


@pytest.fixture
def client(sb: StripeSandbox) -> stripe.StripeClient:
    assert sb.url
    return make_client(sb.url)


def test_create_session_shape_and_page(sb: StripeSandbox, client: stripe.StripeClient) -> None:
    session = subscribe(sb, client)
    portal = client.v1.billing_portal.sessions.create(
        {"customer": session["customer"], "return_url": RETURN}
    )
    assert portal.object == "billing_portal.session"
    assert portal.id.startswith("bps_") and portal.customer == session["customer"]
    assert (portal.return_url, portal.flow, portal.livemode) == (RETURN, None, False)
    assert portal.url == f"{sb.base_url}/portal/{portal.id}"
    page = requests.get(portal.url, timeout=5)
    assert page.status_code == 200
    assert 'id="invoices"' in page.text and "paid" in page.text
    assert f'href="{RETURN}"' in page.text


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"return_url": RETURN}, "customer", "Missing required param: customer."),
        (
            {"customer": "cus_nope", "return_url": RETURN},
            "customer",
            "No such customer: 'cus_nope'",
        ),
        ({"customer": "CUST", "return_url": "not a url"}, "return_url", "Not a valid URL"),
        ({"customer": "CUST"}, "return_url", "You must provide a `return_url`"),
        ({"customer": "CUST", "return_url": RETURN, "colour": "red"}, "colour", "Received unknown"),
        (
            {"customer": "CUST", "return_url": RETURN, "locale": "fr"},
            "locale",
            "The Stripe sandbox does not model `locale`",
        ),
    ],
)
def test_strict_params(
    sb: StripeSandbox, client: stripe.StripeClient, params: dict, param: str, message: str
) -> None:
    session = subscribe(sb, client)
    params = {k: (session["customer"] if v == "CUST" else v) for k, v in params.items()}
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.billing_portal.sessions.create(params)  # type: ignore[arg-type]
    assert info.value.param == param
    assert str(info.value.user_message).startswith(message)
    assert sb.portal_sessions == {}


def test_card_update_pays_the_open_invoice(sb: StripeSandbox, client, recorder) -> None:
    session = subscribe(sb, client)
    sb.set_payment_failing(session["customer"], True)
    sb.advance(ts(2027, 2, 28, 12) - T0)
    sub = client.v1.subscriptions.retrieve(session["subscription"])
    assert sub.status == "past_due"
    portal = client.v1.billing_portal.sessions.create(
        {"customer": session["customer"], "return_url": RETURN}
    )
    assert "declining test card" in requests.get(portal.url, timeout=5).text
    before = len(recorder.calls)
    page = requests.post(f"{portal.url}/payment_method", data={"card": "4242"}, timeout=5)
    assert page.status_code == 200 and "1 open invoice(s) paid." in page.text
    assert client.v1.subscriptions.retrieve(session["subscription"]).status == "active"
    assert sb.failing_customers == {}
    delivered = [json.loads(body)["type"] for body, _ in recorder.calls[before:]]
    assert delivered[:2] == ["invoice.paid", "invoice.payment_succeeded"]
    assert "customer.subscription.updated" in delivered
    # The declining card makes the next payments fail again.
    requests.post(f"{portal.url}/payment_method", data={"card": "0341"}, timeout=5)
    assert sb.failing_customers == {session["customer"]: True}


def test_unvisited_session_expires(sb: StripeSandbox, client) -> None:
    session = subscribe(sb, client)
    portal = client.v1.billing_portal.sessions.create(
        {"customer": session["customer"], "return_url": RETURN}
    )
    sb.advance(5 * 60 + 1)
    assert requests.get(portal.url, timeout=5).status_code == 410
    assert requests.get(f"{sb.base_url}/portal/bps_nope", timeout=5).status_code == 404
