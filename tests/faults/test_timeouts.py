"""Every documented timeout setting reaches its client: PANEL_TIMEOUT_SECONDS and
PANEL_CREATE_TIMEOUT_SECONDS against the panel sandbox's latency knob (each request sleeps that
long before it is handled), STRIPE_TIMEOUT_SECONDS against a server that never answers (the
Stripe sandbox has no latency knob) and on the SDK's HTTP client itself."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from faultkit import wait_until

from billing import stripe_gateway
from catalog.models import Allocation
from core.errors import Unavailable
from panel.client import PanelClient
from panel.errors import PanelRetryableError
from panel.types import FeatureLimits, ServerCreateSpec, ServerLimits

pytestmark = pytest.mark.django_db(transaction=True)


def test_panel_timeout_setting_reaches_the_client(catalog, settings):
    settings.PANEL_TIMEOUT_SECONDS = 0.2
    settings.PANEL_CREATE_TIMEOUT_SECONDS = 5
    catalog.faults.latency = 0.6
    with PanelClient.from_settings() as client:
        assert (client.timeout, client.create_timeout) == (0.2, 5.0)
        with pytest.raises(PanelRetryableError) as caught:
            client.locations_list()
    assert caught.value.outcome_unknown is True  # a read timeout: the panel may have acted

    settings.PANEL_TIMEOUT_SECONDS = 3  # longer than the latency: the same call succeeds
    with PanelClient.from_settings() as client:
        assert [loc.short for loc in client.locations_list()] != []


def _spec(client: PanelClient, external_id: str, allocation_id: int) -> ServerCreateSpec:
    return ServerCreateSpec(
        name="timeout probe",
        user_id=client.user_create(
            email=f"{external_id}@example.com", username=external_id, first_name="T", last_name="O"
        ).id,
        egg_id=3,
        docker_image="ghcr.io/pterodactyl/yolks:java_21",
        startup="java -jar server.jar",
        environment={"SERVER_JARFILE": "server.jar", "BUILD_NUMBER": "latest"},
        limits=ServerLimits(memory=1024, swap=0, disk=1024, io=500, cpu=100),
        feature_limits=FeatureLimits(),
        external_id=external_id,
        allocation_id=allocation_id,
    )


def _free_allocations(n: int) -> list[int]:
    return list(
        Allocation.objects.filter(assigned=False)
        .order_by("pk")
        .values_list("ptero_allocation_id", flat=True)[:n]
    )


def test_panel_create_timeout_setting_reaches_server_create(catalog, settings):
    # Reads time out at 0.2 s, but a create may wait PANEL_CREATE_TIMEOUT_SECONDS (Wings).
    first, second = _free_allocations(2)
    with PanelClient.from_settings() as client:
        specs = [_spec(client, name, a) for name, a in (("tok", first), ("tunclear", second))]
    settings.PANEL_TIMEOUT_SECONDS = 0.2
    settings.PANEL_CREATE_TIMEOUT_SECONDS = 5
    catalog.faults.latency = 0.6
    with PanelClient.from_settings() as client:
        server = client.server_create(specs[0])
    assert catalog.state.servers[server.id]["external_id"] == "tok"

    settings.PANEL_CREATE_TIMEOUT_SECONDS = 0.3  # now shorter than the panel's latency
    with PanelClient.from_settings() as client:
        assert client.create_timeout == 0.3
        with pytest.raises(PanelRetryableError) as caught:
            client.server_create(specs[1])
    # The panel went on and made it: exactly why the client calls the outcome unknown.
    assert caught.value.outcome_unknown is True
    assert wait_until(
        lambda: any(s["external_id"] == "tunclear" for s in catalog.state.servers.values()),
        timeout=5,
    )


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts TCP connections and never answers: a Stripe that hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        sock.close()


def test_stripe_timeout_setting_reaches_the_sdk_http_client(settings, silent_server):
    settings.STRIPE_TIMEOUT_SECONDS = 0.25
    settings.STRIPE_API_BASE = silent_server
    sdk = stripe_gateway.client()
    assert sdk._requestor._client._timeout == 0.25  # type: ignore[attr-defined]
    with pytest.raises(Unavailable):
        stripe_gateway.checkout_session_retrieve(session_id="cs_test_hangs")

    settings.STRIPE_TIMEOUT_SECONDS = 7
    assert stripe_gateway.client()._requestor._client._timeout == 7  # type: ignore[attr-defined]
