"""Login limits for customers (allauth) and operators (/admin/login/), per account and per
client address, the address read through TRUSTED_PROXY_COUNT proxies, counted in one cache.

Defaults under test (settings.ACCOUNT_RATE_LIMITS): failed logins 10 per 5 minutes per address,
5 per 5 minutes per account.
"""

from __future__ import annotations

import time
import uuid

import pytest
from allauth.account.models import EmailAddress
from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)

PROXY = "10.0.0.1"  # our TLS proxy: every request reaches gunicorn from here
PASSWORD = "right-pass-7f3e1"
TOO_MANY = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def fresh_limits(db, settings):
    # The cache table is not a model table: transactional tests do not empty it.
    cache.clear()
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    yield
    cache.clear()


def client_at(address: str, *, spoofed: str | None = None) -> Client:
    """A browser at `address`, seen through our proxy (which appends the address it saw)."""
    chain = f"{spoofed}, {address}" if spoofed else address
    return Client(enforce_csrf_checks=False, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=chain)


def make_user(email: str, *, staff: bool = False) -> User:
    user = User.objects.create_user(email, PASSWORD, first_name="T", last_name="U")
    if staff:
        user.is_staff = user.is_superuser = True
        user.save()
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def admin_login(client: Client, email: str, password: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password, "next": "/admin/"},
    )


def customer_login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"login": email, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_login_works_and_a_wrong_password_is_refused(db):
    make_user("ops@example.com", staff=True)
    bad = client_at("198.51.100.1")
    refused = admin_login(bad, "ops@example.com", "wrong")
    assert refused.status_code == 200
    assert "Please enter the correct email" in refused.content.decode()
    assert not logged_in(bad)
    good = client_at("198.51.100.2")
    response = admin_login(good, "ops@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert logged_in(good)


def test_admin_login_locked_after_5_failures_on_the_account(db):
    make_user("ops@example.com", staff=True)
    # Five failures, each from a different address: only the account's counter reaches 5.
    for i in range(5):
        response = admin_login(client_at(f"198.51.100.{10 + i}"), "ops@example.com", "guess")
        assert TOO_MANY not in response.content.decode()
    # The right password from a fresh address is now refused, and no session is made.
    late = client_at("198.51.100.99")
    response = admin_login(late, "ops@example.com", PASSWORD)
    assert response.status_code == 200
    assert TOO_MANY in response.content.decode()
    assert not logged_in(late)
    # Another operator is not affected.
    make_user("ops2@example.com", staff=True)
    other = client_at("198.51.100.99")
    assert admin_login(other, "ops2@example.com", PASSWORD).status_code == 302


def test_admin_lock_ends_when_the_window_has_passed(db, monkeypatch):
    make_user("ops@example.com", staff=True)
    for i in range(5):
        admin_login(client_at(f"198.51.100.{10 + i}"), "ops@example.com", "guess")
    assert (
        TOO_MANY
        in admin_login(client_at("198.51.100.50"), "ops@example.com", PASSWORD).content.decode()
    )
    later = time.time() + 301
    monkeypatch.setattr(ratelimit.time, "time", lambda: later)
    client = client_at("198.51.100.51")
    assert admin_login(client, "ops@example.com", PASSWORD).status_code == 302
    assert logged_in(client)


def test_admin_login_locked_after_10_failures_from_one_address(db):
    make_user("ops@example.com", staff=True)
    attacker = "203.0.113.66"
    # Ten failures against ten different accounts (per-account counters stay at 1), with a
    # fresh forged X-Forwarded-For prefix each time: the proxy's entry is what counts.
    for i in range(10):
        client = client_at(attacker, spoofed=f"192.0.2.{i}")
        response = admin_login(client, f"nobody{i}@example.com", "guess")
        assert TOO_MANY not in response.content.decode()
    blocked = client_at(attacker, spoofed="192.0.2.200")
    assert TOO_MANY in admin_login(blocked, "ops@example.com", PASSWORD).content.decode()
    assert not logged_in(blocked)
    # The operator from their own address is not locked out.
    own = client_at("198.51.100.7")
    assert admin_login(own, "ops@example.com", PASSWORD).status_code == 302
    assert logged_in(own)


def test_customer_with_the_right_password_logs_in_while_an_attacker_fails_elsewhere(db):
    """The review's reproduction: 18 failed logins for random e-mails behind the proxy, then a
    real customer's correct password. Now only the attacker's address is stopped."""
    make_user("alice@example.com")
    attacker = "203.0.113.66"
    outcomes = []
    for i in range(18):
        client = client_at(attacker, spoofed=f"192.0.2.{i}")
        response = customer_login(client, f"{uuid.uuid4().hex}@example.com", "guess")
        outcomes.append(TOO_MANY in response.content.decode())
        assert not logged_in(client)
    # Allowed until the 10th failure, refused from the 11th on.
    assert outcomes == [False] * 10 + [True] * 8
    alice = client_at("198.51.100.20")
    response = customer_login(alice, "alice@example.com", PASSWORD)
    assert response.status_code == 302
    assert logged_in(alice)
    # From the attacker's address even the right password is refused (the per-address limit).
    from_attacker = client_at(attacker)
    assert TOO_MANY in customer_login(from_attacker, "alice@example.com", PASSWORD).content.decode()
    assert not logged_in(from_attacker)


def test_failures_on_either_form_count_for_the_account_on_both(db):
    make_user("ops@example.com", staff=True)
    for i in range(3):
        customer_login(client_at(f"198.51.100.{30 + i}"), "ops@example.com", "guess")
    for i in range(2):
        admin_login(client_at(f"198.51.100.{40 + i}"), "ops@example.com", "guess")
    late = client_at("198.51.100.60")
    assert TOO_MANY in admin_login(late, "ops@example.com", PASSWORD).content.decode()
    assert TOO_MANY in customer_login(late, "ops@example.com", PASSWORD).content.decode()


def test_a_correct_password_gives_back_its_try(db):
    """Mistyping now and then never adds up to a lock-out: successes are not counted."""
    make_user("bob@example.com")
    for i in range(12):
        client = client_at("198.51.100.80")
        if i % 3 == 0:
            customer_login(client, "bob@example.com", "typo")
        else:
            assert customer_login(client, "bob@example.com", PASSWORD).status_code == 302
    # 4 failures in 12 tries: under both limits.
    assert (
        customer_login(client_at("198.51.100.80"), "bob@example.com", PASSWORD).status_code == 302
    )


def test_without_a_proxy_the_forwarded_header_is_ignored(db, settings):
    """With TRUSTED_PROXY_COUNT=0 a client cannot pick its address by sending the header."""
    settings.TRUSTED_PROXY_COUNT = 0
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    make_user("ops@example.com", staff=True)
    for i in range(10):
        client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
        admin_login(client, f"nobody{i}@example.com", "guess")
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.250")
    assert TOO_MANY in admin_login(client, "ops@example.com", PASSWORD).content.decode()
