"""The customer's panel account: created once, an existing one linked, never duplicated."""

from __future__ import annotations

import pytest
from testkit import make_customer

from panel.client import PanelClient
from provisioning.panel_users import panel_user_ensure, panel_username_for

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
    assert created["username"] == panel_username_for(user) == f"dave.oneilgames{user.pk}"
