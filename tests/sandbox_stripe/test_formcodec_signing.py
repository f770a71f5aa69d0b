from __future__ import annotations

import stripe

from sandbox.stripe import StripeSandbox, verify_header
from sandbox.stripe.formcodec import decode_form

from .conftest import SECRET


def test_decodes_sdk_wire_body():
    body = (
        "mode=payment&line_items[0][price]=price_1&line_items[0][quantity]=1"
        "&line_items[1][price]=price_2&line_items[1][quantity]=3"
        "&metadata[order_id]=42&metadata[flag]=true"
        "&subscription_data[metadata][order_id]=7"
        "&success_url=https%3A%2F%2Fshop.test%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D"
        "&allow_promotion_codes=true&expand[0]=line_items&expand[1]=customer"
        "&metadata[empty]="
    )
    assert decode_form(body) == {
        "mode": "payment",
        "line_items": [
            {"price": "price_1", "quantity": "1"},
            {"price": "price_2", "quantity": "3"},
        ],
        "metadata": {"order_id": "42", "flag": "true", "empty": ""},
        "subscription_data": {"metadata": {"order_id": "7"}},
        "success_url": "https://shop.test/ok?s={CHECKOUT_SESSION_ID}",
        "allow_promotion_codes": True,
        "expand": ["line_items", "customer"],
    }


def test_decodes_percent_encoded_query_and_empty_brackets():
    assert decode_form("expand%5B0%5D=line_items&created%5Bgte%5D=10&types[]=a&types[]=b") == {
        "expand": ["line_items"],
        "created": {"gte": "10"},
        "types": ["a", "b"],
    }
    assert decode_form("metadata[0]=x&nested[0][1]=2&nested[0][0]=1") == {
        "metadata": {"0": "x"},
        "nested": [["1", "2"]],
    }
    assert decode_form("") == {}


def test_signature_matches_stripe_sdk_and_verifies():
    sb = StripeSandbox(webhook_secret=SECRET, clock=lambda: 1_700_000_000.5)
    payload = '{"id": "evt_1", "object": "event"}'
    header = sb.sign(payload)
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload, SECRET, timestamp=1_700_000_000
    )
    assert header.startswith("t=1700000000,v1=")
    assert stripe.WebhookSignature.verify_header(payload, header, SECRET)
    assert verify_header(payload, header, SECRET)
    assert not verify_header(payload + " ", header, SECRET)
    other = sb.sign(payload, timestamp=5, secret="whsec_other")
    assert other == stripe.WebhookSignature.generate_signature_header(
        payload, "whsec_other", timestamp=5
    )
