"""The fault suite: exactly one server per paid order, under duplicates, crashes and faults.

Figures (counts of trials, orders, faults) are printed with `-s` and recorded in
docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import random
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import close_old_connections, connection
from faultkit import (
    assert_exactly_one_server_per_order,
    paid_orders,
    spawn_worker,
    wait_until,
    widen_inventory,
)
from testkit import make_customer, run_worker

from billing.models import Order, OrderEvent
from catalog.models import Allocation
from core.models import Alert
from provisioning.models import ProvisioningAttempt
from provisioning.reconcile import reconcile
from provisioning.services import order_provision

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _post_signed(url: str, sb, event: dict) -> int:
    body = json.dumps(event)
    r = httpx.post(
        url + "/api/stripe/webhook",
        content=body,
        headers={"Stripe-Signature": sb.sign(body), "Content-Type": "application/json"},
        timeout=30,
    )
    return r.status_code


def test_duplicate_storm_50_orders_3_deliveries_each_shuffled_and_concurrent(
    catalog, stripe_sandbox, live_server
):
    widen_inventory(catalog)
    customers = [make_customer(f"storm{i}@example.com")[1] for i in range(10)]
    events = []
    for i, client in enumerate(customers):
        events += paid_orders(client, stripe_sandbox, 5, server_name=f"storm-{i}")
    deliveries = events * 3
    random.Random(7).shuffle(deliveries)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda e: _post_signed(live_server.url, stripe_sandbox, e), deliveries)
        )
    close_old_connections()

    assert statuses == [200] * 150
    orders = list(Order.objects.all())
    assert len(orders) == 50
    assert {o.status for o in orders} == {"paid"}
    assert OrderEvent.objects.filter(to_status="paid").count() == 50

    run_worker()

    assert_exactly_one_server_per_order(catalog, orders)
    assert OrderEvent.objects.filter(to_status="provisioned").count() == 50
    print(f"\nduplicate storm: 150 deliveries, 50 orders, {len(catalog.state.servers)} servers")


TRIALS = 20


def test_worker_sigkilled_at_random_points_never_duplicates_nor_loses(
    catalog, stripe_sandbox, customer, settings
):
    """20 trials: a worker process is started and killed with SIGKILL at a random moment while
    it provisions. Then the reconciler and a clean worker finish the job.

    20, not more: each trial's cost is a fresh Django process, and the property (no duplicate,
    no lost order, whatever line the kill lands on) needs kills spread over the provisioning
    steps, which 0-300 ms after the first attempt row gives from the first trials on; the
    named kill points of every step are tests/faults/test_kills.py's job."""
    # A killed worker may take a task to its grave before claiming the order: the reconciler
    # requeues 'paid' orders without progress (after 60 s in production; at once here).
    settings.RECONCILE_PAID_AFTER_SECONDS = 0
    widen_inventory(catalog)
    catalog.faults.latency = 0.05  # each panel call takes a while, so kills land mid-flight
    from billing.services import checkout_session_fulfil

    customers = [make_customer(f"kill{i}@example.com")[1] for i in range(10)]
    rng = random.Random(11)
    kills = 0
    for trial in range(TRIALS):
        # Fresh work for every trial (two more paid orders), so each worker has something in
        # flight when it is killed, however fast the earlier ones were.
        client = customers[trial % len(customers)]
        for event in paid_orders(client, stripe_sandbox, 2, server_name=f"kill-{trial}"):
            checkout_session_fulfil(session=event["data"]["object"], actor="test")
        started = ProvisioningAttempt.objects.count()
        proc = spawn_worker(batch=True, PROVISION_LEASE_SECONDS=0)
        # Kill at a random moment after the worker has begun provisioning (its first attempt
        # row), so the kill lands inside the work, not in Python's start-up.
        wait_until(
            lambda p=proc, n=started: (
                p.poll() is not None or ProvisioningAttempt.objects.count() > n
            ),
            timeout=30,
            interval=0.01,
        )
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.3))
        except Exception:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    orders = list(Order.objects.all())
    assert len(orders) == 2 * TRIALS
    # Whatever the kills left behind: stuck 'provisioning' orders (the dead worker's lease
    # is already expired with PROVISION_LEASE_SECONDS=0) are resumed by the reconciler.
    for _ in range(5):
        reconcile(panel_checks=False)
        run_worker()
        if not Order.objects.exclude(status="provisioned").exists():
            break

    assert_exactly_one_server_per_order(catalog, orders)
    # A try cut short is 'interrupted' once its order is resumed ('running' if it never was).
    resumed = ProvisioningAttempt.objects.filter(outcome__in=["running", "interrupted"]).count()
    print(
        f"\nSIGKILL: {TRIALS} trials, {kills} killed mid-run, {resumed} attempts cut short, "
        f"{2 * TRIALS} orders, {len(catalog.state.servers)} servers"
    )
    assert kills >= TRIALS // 2  # most trials really did kill a worker at work
    assert resumed >= 5  # and several kills landed inside a try, not between two


def test_panel_faults_at_30_percent_100_orders_all_provisioned_once(
    catalog, stripe_sandbox, settings
):
    widen_inventory(catalog)
    settings.PROVISION_MAX_ATTEMPTS = 40
    settings.PANEL_TIMEOUT_SECONDS = 0.3
    settings.PANEL_CREATE_TIMEOUT_SECONDS = 0.3
    customers = [make_customer(f"fault{i}@example.com")[1] for i in range(20)]
    from billing.services import checkout_session_fulfil

    for i, client in enumerate(customers):
        for event in paid_orders(client, stripe_sandbox, 5, server_name=f"fault-{i}"):
            checkout_session_fulfil(session=event["data"]["object"], actor="test")
    orders = list(Order.objects.all())
    assert len(orders) == 100
    f = catalog.faults
    f.seed = 3
    f.error_rate = 0.075  # 500
    f.throttle_rate = 0.075  # 429 with Retry-After: 1
    f.timeout_rate, f.timeout_seconds = 0.075, 0.6  # no answer within the client's timeout
    f.drop_after_commit_rate = 0.075  # done, then the connection drops

    def unfinished() -> bool:
        run_worker()
        return not Order.objects.filter(status__in=["paid", "provisioning"]).exists()

    assert wait_until(unfinished, timeout=240, interval=0.2)
    f.error_rate = f.throttle_rate = f.timeout_rate = f.drop_after_commit_rate = 0

    assert Order.objects.filter(status="error").count() == 0
    assert_exactly_one_server_per_order(catalog, orders)
    tries = ProvisioningAttempt.objects.count()
    retried = ProvisioningAttempt.objects.filter(outcome="retrying").count()
    print(
        f"\npanel faults 30%: 100 orders, {tries} attempts ({retried} retried), "
        f"{sum(catalog.counters().values())} panel calls, {len(catalog.state.servers)} servers"
    )
    assert retried > 10  # the faults really happened


def test_terminal_errors_fail_at_first_try_with_one_alert(catalog, stripe_sandbox, customer):
    _, client = customer
    from billing.services import checkout_session_fulfil

    bad_variable, deleted_egg = (
        paid_orders(client, stripe_sandbox, 1, plan=plan)[0]
        for plan in ("rust-8gb", "minecraft-2gb")
    )
    from catalog.models import Plan

    Plan.objects.filter(slug="rust-8gb").update(environment={"RCON_PASS": "not valid!"})
    del catalog.state.eggs[3]  # the Paper egg is deleted in the panel after the catalogue sync
    for event in (bad_variable, deleted_egg):
        checkout_session_fulfil(session=event["data"]["object"], actor="test")

    run_worker()
    run_worker()  # nothing left to run: no retry loop

    rust, paper = Order.objects.order_by("pk")
    assert rust.status == paper.status == "error"
    assert (
        "environment.RCON_PASS: The RCON Password variable format is invalid." in rust.error_message
    )
    assert "egg: The selected egg is invalid." in paper.error_message
    for order in (rust, paper):
        assert ProvisioningAttempt.objects.filter(order=order).count() == 1
        assert Alert.objects.filter(order_id=order.pk).count() == 1
    assert catalog.state.servers == {}


@pytest.mark.skipif("connection.vendor != 'mysql'")
def test_four_worker_processes_on_mariadb_200_orders_each_once(catalog, stripe_sandbox):
    widen_inventory(catalog)
    from billing.services import checkout_session_fulfil

    customers = [make_customer(f"four{i}@example.com")[1] for i in range(40)]
    for i, client in enumerate(customers):
        for event in paid_orders(client, stripe_sandbox, 5, server_name=f"four-{i}"):
            checkout_session_fulfil(session=event["data"]["object"], actor="test")
    orders = list(Order.objects.all())
    assert len(orders) == 200
    catalog.faults.latency = 0.005
    workers = [spawn_worker(batch=True) for _ in range(4)]
    for proc in workers:
        assert proc.wait(timeout=300) == 0, (
            proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        )

    assert_exactly_one_server_per_order(catalog, orders)
    assert ProvisioningAttempt.objects.filter(outcome="succeeded").count() == 200
    assert OrderEvent.objects.filter(to_status="provisioned").count() == 200
    print(f"\n4 workers on MariaDB: 200 orders, {len(catalog.state.servers)} servers")


def test_region_with_5_free_ports_and_8_concurrent_checkouts(catalog, stripe_sandbox, live_server):
    frankfurt = Allocation.objects.filter(
        node__regions__slug="eu-west", port__gte=25565, port__lte=25599
    )
    keep = list(frankfurt.order_by("port").values_list("pk", flat=True)[:5])
    frankfurt.exclude(pk__in=keep).update(assigned=True)
    user, _ = make_customer("eight@example.com")
    from django.test import Client

    session_client = Client()
    session_client.force_login(user)
    cookies = {"sessionid": session_client.cookies["sessionid"].value, "csrftoken": "a" * 32}
    body = {"plan": "minecraft-2gb", "region": "eu-west", "server_name": "race"}

    def buy(_: int) -> int:
        r = httpx.post(
            live_server.url + "/api/checkout/session",
            json=body,
            cookies=cookies,
            headers={"X-CSRFToken": "a" * 32},
            timeout=30,
        )

        return r.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(buy, range(8)))
    close_old_connections()

    assert statuses == [201] * 5 + [409] * 3
    creates = [r for r in stripe_sandbox.requests if r == ("POST", "/v1/checkout/sessions")]
    assert len(creates) == 5
    assert Order.objects.count() == 5
    assert sorted(Order.objects.values_list("allocation_id", flat=True)) == sorted(keep)


def test_missed_webhook_is_found_by_the_reconciler(catalog, stripe_sandbox, customer, settings):
    _, client = customer
    settings.RECONCILE_PENDING_AFTER_SECONDS = 0
    stripe_sandbox.webhooks_enabled = False  # paid in Stripe, webhook never sent
    paid_orders(client, stripe_sandbox, 1)
    order = Order.objects.get()
    assert order.status == "pending"

    report = reconcile(panel_checks=False)
    assert report.pending_checked == {order.pk: "order paid, provisioning queued"}
    run_worker()

    order.refresh_from_db()
    assert order.status == "provisioned"
    assert OrderEvent.objects.get(order=order, to_status="paid").actor == "reconciler"
    assert len(catalog.state.servers) == 1


def test_two_orders_of_one_new_customer_concurrently_make_one_panel_user(
    catalog, stripe_sandbox, customer
):
    user, client = customer
    from billing.services import checkout_session_fulfil

    for event in paid_orders(client, stripe_sandbox, 2):
        checkout_session_fulfil(session=event["data"]["object"], actor="test")
    catalog.faults.latency = 0.2  # both creates are in flight together
    ids = list(Order.objects.values_list("pk", flat=True))
    barrier = threading.Barrier(2)

    def provision(order_id: int) -> str:
        barrier.wait()
        try:
            return order_provision(order_id=order_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(provision, ids))

    assert results == ["provisioned", "provisioned"]
    panel_users = [u for u in catalog.state.users.values() if u["email"] == user.email]
    assert len(panel_users) == 1
    user.refresh_from_db()
    assert user.pterodactyl_user_id == panel_users[0]["id"]
    assert catalog.counters()["POST /api/application/users"] == 1
