"""The apps' layering (docs/architecture.md): core's registries are filled by the apps above
it, and billing's signals reach provisioning."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from billing.apps import check_signal_receivers
from billing.signals import order_billing_changed, order_paid
from core.doctor import CHECKS
from core.health import READINESS_CHECKS
from core.metrics import SECTIONS
from core.registry import Registry
from provisioning import receivers


def test_every_listed_entry_is_registered_by_its_app():
    """A check or metric section core lists but no app registered would silently vanish from
    the report: every name in each order is filled, and nothing unlisted is added."""
    for registry in (CHECKS, READINESS_CHECKS, SECTIONS):
        assert registry.names() == list(registry.order)


def test_doctor_prints_in_the_fixed_order():
    assert CHECKS.names() == [
        "plans",
        "regions",
        "nodes",
        "stock",
        "port_sets",
        "panel",
        "panel_client_key",
        "stripe",
        "stripe_webhook",
        "secrets",
        "alert_urls",
        "worker",
        "stock_threshold",
    ]
    assert READINESS_CHECKS.names() == [
        "database",
        "worker",
        "panel",
        "backlog",
        "provisioning",
        "duties",
    ]


names = st.text(alphabet="abcdefgh", min_size=1, max_size=3)


@given(order=st.lists(names, unique=True), registered=st.lists(names))
def test_registry_lists_its_order_then_the_rest_once_each(order, registered):
    registry: Registry[int] = Registry(order=tuple(order))
    for i, name in enumerate(registered):
        registry.register(name, i)
    listed = [n for n in order if n in registered]
    rest = [n for n in dict.fromkeys(registered) if n not in order]
    assert registry.names() == listed + rest
    # The same name registered again replaces the entry (ready() may run twice).
    last = {name: i for i, name in enumerate(registered)}
    assert list(registry) == [last[n] for n in listed + rest]


def test_billing_signals_have_provisioning_as_receiver():
    assert check_signal_receivers(None) == []
    assert order_paid.has_listeners() and order_billing_changed.has_listeners()


def test_a_signal_without_receiver_fails_the_system_check():
    order_paid.disconnect(dispatch_uid="provisioning.on_order_paid")
    try:
        errors = check_signal_receivers(None)
    finally:
        receivers.connect()
    assert [e.id for e in errors] == ["billing.E001"]
    assert "order_paid" in errors[0].msg
    assert check_signal_receivers(None) == []


def test_connecting_twice_queues_once():
    receivers.connect()
    receivers.connect()
    assert len(order_paid.receivers) == 1
    assert len(order_billing_changed.receivers) == 1
