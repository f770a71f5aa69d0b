"""The waitlist (issue 16 point 5): on a sold-out plan and region a signed-in customer asks to
be told; a capacity event (here a termination) mails the first WAITLIST_NOTIFY_COUNT waiting
customers once, with a link; nobody beyond them, nobody twice unless they ask again. Requests
are CSRF-checked; ten clicks are one entry; not signed in goes to the log-in page; a plan that
is not sold out gets no entry."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from testkit import checkout, csrf_client, make_customer, run_worker

from billing.models import Order
from catalog.models import Node, Plan, Region, WaitlistEntry
from catalog.selectors import region_stock
from catalog.waitlist import waitlist_capacity_freed, waitlist_mail_send, waitlist_notify
from core.models import SentMail
from provisioning.operator import order_staff_terminate

pytestmark = pytest.mark.django_db(transaction=True)

PLAN = "minecraft-2gb"
URL = f"/buy/{PLAN}/waitlist/us-east"


def _room_for_one() -> None:
    """us-east: only ny-1, with room for exactly one 2 GiB server."""
    region = Region.objects.get(slug="us-east")
    for other in region.nodes.exclude(name="ny-1"):
        region.nodes.remove(other)
    Node.objects.filter(name="ny-1").update(
        memory=2048, memory_overallocate=0, allocated_memory=0, allocated_disk=0
    )


def _stock() -> int:
    return region_stock(region=Region.objects.get(slug="us-east"), plan=Plan.objects.get(slug=PLAN))


def _sell_the_last_one(stripe_sandbox, buyer_email: str = "buyer@example.com") -> Order:
    _, buyer = make_customer(buyer_email)
    order = Order.objects.get(pk=checkout(buyer, server_name="last").json()["order_id"])
    stripe_sandbox.complete_session(order.stripe_session_id)
    run_worker()
    order.refresh_from_db()
    assert order.status == "provisioned"
    assert _stock() == 0
    return order


def _waitlist_mails() -> list:
    return [m for m in mail.outbox if "available again" in m.subject]


def test_a_termination_mails_the_first_waiter_once_and_nobody_beyond_n(
    catalog, stripe_sandbox, settings
):
    settings.WAITLIST_NOTIFY_COUNT = 1
    _room_for_one()
    sold = _sell_the_last_one(stripe_sandbox)
    waiters = [make_customer(f"{name}@example.com") for name in ("bob", "carol", "dave")]
    for _, client in waiters:
        assert client.post(URL).status_code == 302
    assert list(WaitlistEntry.objects.values_list("user__email", flat=True)) == [
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    ]
    mail.outbox.clear()

    order_staff_terminate(order_id=sold.pk, actor="staff:test")
    run_worker()

    (message,) = _waitlist_mails()
    assert message.to == ["bob@example.com"]
    assert "Minecraft (Paper) 2 GB in New York" in message.body
    assert f"http://testserver/buy/{PLAN}?region=us-east" in message.body
    (html, _), *_ = message.alternatives
    assert f'href="http://testserver/buy/{PLAN}?region=us-east"' in html
    bob = WaitlistEntry.objects.get(user__email="bob@example.com")
    assert bob.notified_event == f"order-{sold.pk}-terminated"
    assert SentMail.objects.filter(kind="waitlist_back").count() == 1
    # The link pre-selects the region on the plan's page.
    page = waiters[0][1].get(f"/buy/{PLAN}?region=eu-west").content.decode()
    assert 'value="eu-west"\n               checked' in page
    assert 'value="us-east"\n               checked' not in page

    # A second event while there is still room: the next waiter, never Bob again.
    mail.outbox.clear()
    assert waitlist_notify(event="second-event", region_ids=None) == 1
    run_worker()
    assert [m.to for m in _waitlist_mails()] == [["carol@example.com"]]
    # Bob's mail task run again (a retry, a second worker): the ledger sends nothing more.
    mail.outbox.clear()
    assert (
        waitlist_mail_send(event=bob.notified_event, user_id=bob.user_id, entry_ids=[bob.pk])
        is False
    )
    assert waitlist_notify(event="third-event", region_ids=None) == 1  # Dave, last in line
    run_worker()
    assert [m.to for m in _waitlist_mails()] == [["dave@example.com"]]
    assert waitlist_notify(event="fourth-event", region_ids=None) == 0


def test_asking_again_after_being_told_queues_at_the_end_and_mails_again(
    catalog, stripe_sandbox, settings
):
    settings.WAITLIST_NOTIFY_COUNT = 5
    _room_for_one()
    first = _sell_the_last_one(stripe_sandbox)
    _, bob = make_customer("bob@example.com")
    assert bob.post(URL).status_code == 302
    order_staff_terminate(order_id=first.pk, actor="staff:test")
    run_worker()
    assert [m.to for m in _waitlist_mails()] == [["bob@example.com"]]
    # Somebody else buys the freed server: sold out again. Bob asks again: round 2.
    second = _sell_the_last_one(stripe_sandbox, "buyer2@example.com")
    _, carol = make_customer("carol@example.com")
    assert carol.post(URL).status_code == 302
    assert bob.post(URL).status_code == 302
    entry = WaitlistEntry.objects.get(user__email="bob@example.com")
    assert (entry.round, entry.notified_at) == (2, None)
    mail.outbox.clear()
    order_staff_terminate(order_id=second.pk, actor="staff:test")
    run_worker()
    # N = 5: both told, once each, Carol (who asked first this time) included.
    assert sorted(m.to[0] for m in _waitlist_mails()) == ["bob@example.com", "carol@example.com"]


def test_ten_clicks_are_one_entry_and_the_page_says_where_you_are(catalog, stripe_sandbox):
    _room_for_one()
    _sell_the_last_one(stripe_sandbox)
    user, client = make_customer("bob@example.com")
    page = client.get(f"/buy/{PLAN}").content.decode()
    assert 'id="notify-us-east"' in page and f'action="{URL}"' in page
    for _ in range(10):
        assert client.post(URL).status_code == 302
    assert WaitlistEntry.objects.filter(user=user).count() == 1
    page = client.get(f"/buy/{PLAN}").content.decode()
    assert "You are already on the list" in page and "(number 1)" in page


def test_not_signed_in_goes_to_log_in_and_writes_nothing(catalog, stripe_sandbox):
    _room_for_one()
    _sell_the_last_one(stripe_sandbox)
    response = csrf_client().post(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert f"next=/buy/{PLAN}" in response["Location"]
    assert not WaitlistEntry.objects.exists()


def test_without_the_csrf_token_nothing_is_written(catalog, stripe_sandbox):
    _room_for_one()
    _sell_the_last_one(stripe_sandbox)
    user, _ = make_customer("bob@example.com")
    bare = Client(enforce_csrf_checks=True)
    bare.force_login(user)
    assert bare.post(URL).status_code == 403
    assert not WaitlistEntry.objects.exists()
    assert bare.get(URL).status_code == 405  # POST only


def test_a_plan_that_is_not_sold_out_gets_no_entry_and_a_clear_message(catalog, customer):
    _, client = customer
    assert _stock() > 0
    response = client.post(URL, follow=True)
    assert response.status_code == 200
    assert "is available in New York right now: you can buy it." in response.content.decode()
    assert not WaitlistEntry.objects.exists()
    assert client.post(f"/buy/{PLAN}/waitlist/nowhere").status_code == 404


def test_an_event_in_a_quiet_region_queues_nothing(catalog):
    from django_tasks_db.models import DBTaskResult

    assert waitlist_capacity_freed(region_ids=None, event="sync-x") is False
    assert not DBTaskResult.objects.exists()
