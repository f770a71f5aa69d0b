"""Inputs (issue 13, point 4) and pending payments apart (point 3)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from testkit import CSRF_TOKEN, checkout, make_customer

from billing.models import Order
from catalog.models import Plan
from catalog.variables import NumericBounds, numeric_rule_bounds

RUST = "rust-8gb"


# --- server name ------------------------------------------------------------------------------
def test_server_name_at_most_60(catalog, stripe_sandbox, customer):
    _, client = customer
    assert checkout(client, server_name="x" * 60).status_code == 201
    refused = checkout(client, server_name="x" * 61)
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "The server name may be at most 60 characters.",
        "code": "invalid_server_name",
    }
    for name in ("a\x00b", "line\nbreak", "esc\x1b[31m"):
        response = checkout(client, server_name=name)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_server_name")
    # Emoji and accents are fine (utf8mb4 on MariaDB).
    assert checkout(client, server_name="Café 🎮").status_code == 201
    assert Order.objects.count() == 2
    page = client.get("/buy/minecraft-2gb").content.decode()
    assert 'maxlength="60"' in page
    assert "Server name (shown in your dashboard)" in page


# --- numeric egg variables -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("required|integer|between:1,100", NumericBounds(1, 100)),
        ("required|integer|max:128", NumericBounds(None, 128)),
        ("required|numeric|min:5|max:9", NumericBounds(5, 9)),
        ("required|numeric|digits_between:1,5", NumericBounds(0, 99999)),
        ("required|integer|digits:3", NumericBounds(100, 999)),
        ("required|integer", NumericBounds(None, None)),
        ("required|string|max:20", None),  # characters, not a number
        ("required|in:vanilla,oxide", None),
    ],
)
def test_numeric_rule_bounds(rules, expected):
    assert numeric_rule_bounds(rules) == expected


def _rust_body(**variables):
    return {
        "plan": RUST,
        "region": "us-east",
        "server_name": "r",
        "variables": {"HOSTNAME": "My Rust", "MAX_PLAYERS": "50", **variables},
    }


def _post(client, body):
    return client.post(
        "/api/checkout/session", data=json.dumps(body), content_type="application/json"
    )


def test_plan_bounds_max_players_on_server_and_form(catalog, stripe_sandbox, customer):
    Plan.objects.filter(slug=RUST).update(variable_bounds={"MAX_PLAYERS": {"min": 1, "max": 20}})
    _, client = customer
    for bad, message in (
        ("-5", "The Max Players variable must be at least 1 on this plan."),
        ("999999", "The Max Players variable may not be greater than 20 on this plan."),
        ("21", "The Max Players variable may not be greater than 20 on this plan."),
    ):
        response = _post(client, _rust_body(MAX_PLAYERS=bad))
        assert response.status_code == 422, bad
        assert response.json()["detail"] == message
    assert Order.objects.count() == 0
    assert _post(client, _rust_body(MAX_PLAYERS="20")).status_code == 201
    page = client.get(f"/buy/{RUST}").content.decode()
    assert 'id="var_MAX_PLAYERS" name="var_MAX_PLAYERS" value=' in page
    assert 'type="number"' in page and 'min="1" max="20"' in page
    # The form refuses it too, with the same words.
    response = client.post(
        f"/buy/{RUST}",
        {
            "server_name": "r",
            "region": "us-east",
            "var_HOSTNAME": "My Rust",
            "var_MAX_PLAYERS": "-5",
            "var_FRAMEWORK": "vanilla",
        },
        headers={"X-CSRFToken": CSRF_TOKEN},
    )
    assert response.status_code == 422
    assert "must be at least 1 on this plan" in response.content.decode()


def test_game_name_is_labelled_apart_from_our_server_name(catalog, customer):
    _, client = customer
    page = client.get(f"/buy/{RUST}").content.decode()
    assert "Server name (shown in your dashboard)" in page
    # Django escapes the apostrophe.
    assert "Name in the server browser (the game&#x27;s “Server Name”)" in page


def test_in_rule_renders_a_select(catalog, customer):
    plan = Plan.objects.get(slug=RUST)
    Plan.objects.filter(pk=plan.pk).update(
        customer_variables=[*plan.customer_variables, "FRAMEWORK"]
    )
    _, client = customer
    page = client.get(f"/buy/{RUST}").content.decode()
    assert '<select id="var_FRAMEWORK" name="var_FRAMEWORK"' in page
    for choice in ("vanilla", "oxide", "carbon"):
        assert f'<option value="{choice}"' in page


def test_plan_bounds_are_checked_in_the_console(catalog):
    plan = Plan.objects.get(slug=RUST)
    for bounds, message in (
        ({"MAX_PLAYERS": {"max": "x"}}, "MAX_PLAYERS: bounds must be numbers."),
        ({"MAX_PLAYERS": {"min": 9, "max": 3}}, "MAX_PLAYERS: min 9 is greater than max 3."),
        ({"HOSTNAME": {"max": 3}}, "HOSTNAME: the egg's rules do not make it a number."),
        ({"NOPE": {"max": 3}}, "NOPE: egg 14 (Rust) has no such variable."),
        ({"MAX_PLAYERS": {"low": 3}}, 'MAX_PLAYERS: give {"min": n}, {"max": n} or both.'),
    ):
        plan.variable_bounds = bounds
        with pytest.raises(ValidationError) as caught:
            plan.clean()
        assert caught.value.message_dict["variable_bounds"] == [message]
    gmod = Plan.objects.get(slug="garrys-mod-3gb")
    gmod.variable_bounds = {"MAX_PLAYERS": {"max": 200}}
    with pytest.raises(ValidationError) as caught:
        gmod.clean()
    assert caught.value.message_dict["variable_bounds"] == [
        "MAX_PLAYERS: max 200 is above the egg's maximum 128."
    ]


# --- invalid Unicode: 4xx, never 500 ------------------------------------------------------------
# Lone surrogates only: a high one followed by a low one is a valid pair that JSON decodes to
# one real character (hypothesis found "\ud800" + "\udfff"). st.text() has no surrogates.
_SURROGATE = st.sampled_from(["\ud800", "\udfff", "a\ud83dz", "\udc00\ud800"])
_TEXT = st.text(max_size=8)


@pytest.mark.django_db(transaction=True)
@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(["plan", "region", "server_name", "var_key", "var_value"]),
    bad=_SURROGATE,
    other=_TEXT,
)
def test_invalid_unicode_anywhere_is_4xx_and_changes_nothing(
    catalog, stripe_sandbox, field, bad, other
):
    from accounts.models import User

    user = User.objects.filter(email="u@example.com").first()
    if user is None:
        user, _ = make_customer("u@example.com")
    from testkit import csrf_client

    client = csrf_client()
    client.force_login(user)
    body = {"plan": "minecraft-2gb", "region": "us-east", "server_name": f"ok{other}"}
    variables = {}
    if field in ("plan", "region", "server_name"):
        body[field] = f"{other}{bad}"
    elif field == "var_key":
        variables = {f"{other}{bad}": "1"}
    else:
        variables = {"MINECRAFT_VERSION": f"{bad}{other}"}
    body["variables"] = variables
    orders = Order.objects.count()
    # json.dumps escapes lone surrogates as \\ud800, as a hostile client would send them.
    response = client.post(
        "/api/checkout/session", data=json.dumps(body), content_type="application/json"
    )
    assert 400 <= response.status_code < 500, response.content
    assert Order.objects.count() == orders
    change = client.post(
        "/api/servers/1/plan",
        data=json.dumps({"plan": f"{other}{bad}"}),
        content_type="application/json",
    )
    assert 400 <= change.status_code < 500


# --- pending payments apart ---------------------------------------------------------------------
def test_pending_checkouts_are_listed_apart_from_servers(catalog, stripe_sandbox, customer):
    _, client = customer
    started = checkout(client, server_name="waiting").json()
    html = client.get("/dashboard").content.decode()
    assert 'id="pending-payments"' in html
    assert f'<li data-order="{started["order_id"]}">' in html
    assert f'<a role="button" class="complete-payment" href="{started["checkout_url"]}">' in html
    assert f'action="/orders/{started["order_id"]}/remove"' in html
    assert 'id="servers"' not in html  # no servers yet
    assert client.get("/api/servers").json() == []
    listed = client.get("/api/checkouts").json()
    assert [(c["order_id"], c["complete_url"]) for c in listed] == [
        (started["order_id"], started["checkout_url"])
    ]


@pytest.mark.django_db(transaction=True)
def test_remove_expires_the_session_and_the_checkout_disappears(catalog, stripe_sandbox):
    _, client = make_customer("rem@example.com")
    started = checkout(client, server_name="waiting").json()
    order = Order.objects.get(pk=started["order_id"])
    response = client.post(
        f"/orders/{order.pk}/remove", {"csrfmiddlewaretoken": CSRF_TOKEN}, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Removed. Nothing was charged." in html
    assert 'id="pending-payments"' not in html
    order.refresh_from_db()
    assert (order.status, order.allocation_id) == ("cancelled", None)
    assert stripe_sandbox.sessions[order.stripe_session_id]["status"] == "expired"
    assert client.get("/api/checkouts").json() == []
    # Kept for the operator.
    assert Order.objects.filter(pk=order.pk).exists()


def test_an_expired_hold_disappears_from_the_customers_view(catalog, stripe_sandbox, customer):
    from datetime import timedelta

    from django.utils import timezone

    _, client = customer
    order_id = checkout(client).json()["order_id"]
    Order.objects.filter(pk=order_id).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert 'id="pending-payments"' not in client.get("/dashboard").content.decode()
    page = client.get(f"/orders/{order_id}").content.decode()
    assert "Waiting for the payment confirmation" not in page
    assert "This checkout has ended without a payment; nothing was charged." in page
