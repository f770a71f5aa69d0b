"""Panel usernames always pass the panel's own rule, stay stable for a customer, never collide
between our customers, and move to the next name when a foreign panel account holds one.

The rule, copied from pterodactyl/panel v1.11.8 (written out here, not imported from the code
under test, so a change on either side shows):
* app/Models/User.php `$validationRules['username']`:
  'required|between:1,191|unique:users,username'
* app/Models/User.php `getRules()` adds app/Rules/Username.php, whose `passes()` is
  `preg_match('/^[a-z0-9]([\\w\\.-]+)[a-z0-9]$/', mb_strtolower($value))` (no /u: \\w is ASCII)
* app/Models/User.php `setUsernameAttribute()` stores `mb_strtolower($value)`.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import checkout, run_worker

from accounts.models import User
from billing.models import Order
from provisioning.models import ProvisioningAttempt
from provisioning.panel_users import USERNAME_TRIES, panel_username_for

UPSTREAM_USERNAME_REGEX = re.compile(r"^[a-z0-9]([\w\.-]+)[a-z0-9]$", re.ASCII)


def _passes_panel_rule(name: str) -> bool:
    return (
        1 <= len(name) <= 191  # between:1,191 (mb_strlen)
        and re.fullmatch(UPSTREAM_USERNAME_REGEX, name.lower()) is not None
        and name == name.lower()  # what the panel stores is what we asked for
    )


_local_parts = st.one_of(
    st.text(min_size=0, max_size=200),  # anything, unicode and emoji included
    st.text(alphabet="._-+'!#$%&*=?^`{|}~", min_size=0, max_size=12),  # no letter at all
    st.text(alphabet="abcXYZ019.+_-", min_size=1, max_size=60),  # dots, plus-addressing
    st.sampled_from(["a", "A", "é", "ß", "😀", "😀😀", "..", ".a.", "-a-", "_", "K", "ﬁ", "İ"]),
    st.just("x" * 200),
)
_emails = st.one_of(
    st.emails(),
    st.builds(lambda local, domain: f"{local}@{domain}", _local_parts, st.emails()),
    st.text(max_size=200),  # not even an address
)
_ids = st.integers(min_value=1, max_value=10**18)


def _customer(email: str, pk: int) -> User:
    return User(pk=pk, email=email)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(email=_emails, pk=_ids, attempt=st.integers(min_value=1, max_value=USERNAME_TRIES))
def test_every_username_passes_the_panels_rule_and_is_stable(email, pk, attempt):
    name = panel_username_for(_customer(email, pk), attempt)
    assert _passes_panel_rule(name), name
    assert panel_username_for(_customer(email, pk), attempt) == name  # stable


@settings(max_examples=1000, deadline=None)
@given(
    a=st.tuples(_emails, _ids, st.integers(1, USERNAME_TRIES)),
    b=st.tuples(_emails, _ids, st.integers(1, USERNAME_TRIES)),
)
def test_two_customers_or_two_tries_never_get_the_same_name(a, b):
    # The panel's `unique` is case-blind (utf8mb4_unicode_ci): compare lower-cased.
    (email_a, pk_a, try_a), (email_b, pk_b, try_b) = a, b
    name_a = panel_username_for(_customer(email_a, pk_a), try_a).lower()
    name_b = panel_username_for(_customer(email_b, pk_b), try_b).lower()
    if (pk_a, try_a) != (pk_b, try_b):
        assert name_a != name_b


@pytest.mark.parametrize(
    ("email", "pk", "expected"),
    [
        ("a@x.io", 5, "a_5"),  # was "a5": two characters, refused by the panel
        ("dave.o'neil+games@example.com", 7, "dave.oneilgames_7"),
        ("José.Ñúñez@example.com", 12, "jose.nunez_12"),
        ("😀@example.com", 3, "customer_3"),
        ("..--__@example.com", 3, "customer_3"),
        (".a.@example.com", 9, "a_9"),
        ("x" * 200 + "@example.com", 42, "x" * 40 + "_42"),
    ],
)
def test_known_names(email, pk, expected):
    assert panel_username_for(_customer(email, pk)) == expected
    assert panel_username_for(_customer(email, pk), 2) == f"{expected}-2"


# --- on the panel sandbox ----------------------------------------------------------------------


def _paid_order(client, stripe_sandbox) -> Order:
    response = checkout(client)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    order.refresh_from_db()
    assert order.status == "paid"
    return order


def _customer_with_id(email: str, pk: int):
    from django.test import Client

    user = User.objects.create_user(email, "pw-for-tests-1", id=pk, first_name="A")
    client = Client()
    client.force_login(user)
    return user, client


@pytest.mark.django_db(transaction=True)
def test_a_at_x_io_with_user_id_5_provisions(catalog, stripe_sandbox):
    user, client = _customer_with_id("a@x.io", 5)
    order = _paid_order(client, stripe_sandbox)

    run_worker()

    order.refresh_from_db()
    assert order.status == "provisioned", order.error_message
    user.refresh_from_db()
    panel_user = catalog.state.users[user.pterodactyl_user_id]
    assert panel_user["username"] == "a_5"
    assert panel_user["email"] == "a@x.io"
    assert panel_user["external_id"] == user.panel_external_id


@pytest.mark.django_db(transaction=True)
def test_a_foreign_account_holding_the_name_moves_us_to_the_next_name(catalog, stripe_sandbox):
    # Accounts an operator made by hand hold our first two names (one in upper case: the
    # panel's unique check ignores case).
    catalog.state.add_user("a_5", "someone@example.com")
    catalog.state.add_user("A_5-2", "someone-else@example.com")
    user, client = _customer_with_id("a@x.io", 5)
    order = _paid_order(client, stripe_sandbox)

    run_worker()

    order.refresh_from_db()
    assert order.status == "provisioned", order.error_message
    user.refresh_from_db()
    assert catalog.state.users[user.pterodactyl_user_id]["username"] == "a_5-3"
    assert [u["email"] for u in catalog.state.users.values()].count("a@x.io") == 1


@pytest.mark.django_db(transaction=True)
def test_every_name_taken_ends_in_error_with_what_to_do(catalog, stripe_sandbox):
    for attempt in range(1, USERNAME_TRIES + 1):
        name = "a_5" if attempt == 1 else f"a_5-{attempt}"
        catalog.state.add_user(name, f"holder{attempt}@example.com")
    users_before = dict(catalog.state.users)
    user, client = _customer_with_id("a@x.io", 5)
    order = _paid_order(client, stripe_sandbox)

    run_worker()

    order.refresh_from_db()
    assert order.status == "error"
    assert order.error_message == (
        "POST /users HTTP 422 ValidationException: Other panel accounts hold every username "
        "we tried for customer #5 (a_5, a_5-2, a_5-3, a_5-4, a_5-5). Rename one of those panel "
        "accounts, or enter the customer's existing panel account id as their Pterodactyl "
        "user id in the admin (Customers > Users), then retry the order."
    )
    attempts = list(ProvisioningAttempt.objects.filter(order=order))
    assert [(a.outcome, a.step, a.panel_status) for a in attempts] == [
        ("failed", "panel_user", 422)
    ]
    assert catalog.state.users == users_before  # nothing made on the panel
    assert len(catalog.state.servers) == 0
    user.refresh_from_db()
    assert user.pterodactyl_user_id is None
