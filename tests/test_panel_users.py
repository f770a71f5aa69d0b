"""The customer's panel account: created once, an existing one linked, never duplicated."""

from __future__ import annotations

import pytest
from testkit import checkout, make_customer, run_worker

from billing.models import Order
from panel.client import PanelClient
from provisioning.models import ProvisioningAttempt
from provisioning.panel_users import PanelAccountRefused, panel_user_ensure, panel_username_for

pytestmark = pytest.mark.django_db


def _panel_users(sb, email: str) -> list[dict]:
    return [u for u in sb.state.users.values() if u["email"].lower() == email.lower()]


def test_existing_panel_account_with_the_same_email_is_linked(panel_configured):
    sb = panel_configured
    # Look-alikes the panel's substring filter also returns, spread over pages.
    for i in range(120):
        sb.state.add_user(f"lookalike{i}", f"x{i}bob@example.com.au")
    existing = sb.state.add_user("bobby", "Bob@Example.com")
    user, _ = make_customer("bob@example.com")
    with PanelClient.from_settings() as client:
        assert panel_user_ensure(client=client, user_id=user.pk) == existing["id"]
    user.refresh_from_db()
    assert user.pterodactyl_user_id == existing["id"]
    assert len(_panel_users(sb, "bob@example.com")) == 1


def test_account_created_earlier_under_our_external_id_is_adopted(panel_configured):
    sb = panel_configured
    user, _ = make_customer("carol@example.com")
    # Our earlier create went through but its answer was lost; the e-mail later changed.
    earlier = sb.state.add_user(
        "carol1", "old-carol@example.com", external_id=user.panel_external_id
    )
    with PanelClient.from_settings() as client:
        assert panel_user_ensure(client=client, user_id=user.pk) == earlier["id"]


def test_new_customer_is_created_once_then_cached(panel_configured):
    sb = panel_configured
    user, _ = make_customer("dave.o'neil+games@example.com")
    with PanelClient.from_settings() as client:
        first = panel_user_ensure(client=client, user_id=user.pk)
        sb.reset_counters()
        assert panel_user_ensure(client=client, user_id=user.pk) == first
    assert sb.counters() == {}
    created = sb.state.users[first]
    assert created["external_id"] == user.panel_external_id
    assert created["username"] == panel_username_for(user) == f"dave.oneilgames_{user.pk}"


def test_account_under_our_external_id_in_other_case_is_adopted(panel_configured):
    # The panel's users.external_id column is utf8mb4_unicode_ci: lookups and `unique` ignore
    # case, so an account made under "GIVRWRLD-USER-7" is ours.
    sb = panel_configured
    user, _ = make_customer("erin@example.com")
    earlier = sb.state.add_user(
        "erin1", "erin.old@example.com", external_id=user.panel_external_id.upper()
    )
    with PanelClient.from_settings() as client:
        assert panel_user_ensure(client=client, user_id=user.pk) == earlier["id"]
    assert len(sb.state.users) == len({u["id"] for u in sb.state.users.values()})
    assert [u["external_id"].lower() for u in sb.state.users.values() if u["external_id"]].count(
        user.panel_external_id.lower()
    ) == 1


@pytest.mark.parametrize(
    "email", ["bad address@example.com", "john..doe@example.com", ".a@example.com", "a@x_y.io"]
)
def test_an_email_the_panel_refuses_is_an_operator_task_not_a_crash(panel_configured, email):
    sb = panel_configured
    users_before = dict(sb.state.users)
    user, _ = make_customer(email)
    with PanelClient.from_settings() as client, pytest.raises(PanelAccountRefused) as caught:
        panel_user_ensure(client=client, user_id=user.pk)
    assert str(caught.value).startswith(
        f"POST /users HTTP 422 ValidationException: The panel refuses customer #{user.pk}'s "
        f"e-mail ({email}): The email must be a valid email address. Change the customer's "
        "e-mail in the admin (Customers > Users) to one the panel accepts, then retry the order."
    )
    assert caught.value.status == 422
    assert sb.state.users == users_before
    user.refresh_from_db()
    assert user.pterodactyl_user_id is None


@pytest.mark.django_db(transaction=True)
def test_existing_customer_with_a_refused_email_ends_in_error_once(catalog, stripe_sandbox):
    user, client = make_customer("alice@example.com")
    response = checkout(client)
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    # The customer's address was changed to one the panel refuses after they paid (an older
    # account, or an edit outside the sign-up form).
    type(user).objects.filter(pk=user.pk).update(email="bad address@example.com")
    users_before = dict(catalog.state.users)

    run_worker()

    order.refresh_from_db()
    assert order.status == "error"
    assert order.error_message == (
        f"POST /users HTTP 422 ValidationException: The panel refuses customer #{user.pk}'s "
        "e-mail (bad address@example.com): The email must be a valid email address. Change "
        "the customer's e-mail in the admin (Customers > Users) to one the panel accepts, then "
        "retry the order."
    )
    attempts = list(ProvisioningAttempt.objects.filter(order=order))
    assert [(a.outcome, a.step, a.panel_status) for a in attempts] == [
        ("failed", "panel_user", 422)
    ]
    assert catalog.state.users == users_before
    assert len(catalog.state.servers) == 0
    run_worker()  # nothing left queued: no retry loop
    assert ProvisioningAttempt.objects.filter(order=order).count() == 1


def test_our_earlier_account_is_linked_even_if_the_email_is_now_refused(panel_configured):
    sb = panel_configured
    user, _ = make_customer("frank@example.com")
    earlier = sb.state.add_user("frank_9", "frank@example.com", external_id=user.panel_external_id)
    type(user).objects.filter(pk=user.pk).update(email="frank..x@example.com")
    with PanelClient.from_settings() as client:
        assert panel_user_ensure(client=client, user_id=user.pk) == earlier["id"]
    user.refresh_from_db()
    assert user.pterodactyl_user_id == earlier["id"]


def test_blank_names_fall_back_as_empty_ones_do(panel_configured):
    # The panel trims inputs and refuses an empty name_first / name_last (required).
    sb = panel_configured
    user, _ = make_customer("gina@example.com")
    type(user).objects.filter(pk=user.pk).update(first_name="   ", last_name="\u200b \t")
    with PanelClient.from_settings() as client:
        panel_id = panel_user_ensure(client=client, user_id=user.pk)
    created = sb.state.users[panel_id]
    assert (created["name_first"], created["name_last"]) == ("Customer", f"#{user.pk}")
