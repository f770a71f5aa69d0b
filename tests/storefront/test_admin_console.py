"""The operator console: catalogue pages, "Sync from panel", Stripe event reprocess, alerts and
secrets read-only / write-only."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from billing.models import StripeEvent
from catalog.models import Egg
from core.models import Alert, Secret

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff() -> Client:
    User.objects.create_superuser("ops@example.com", "pw-for-tests-1")
    client = Client()
    client.login(email="ops@example.com", password="pw-for-tests-1")
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/catalog/game/",
        "/admin/catalog/plan/",
        "/admin/catalog/region/",
        "/admin/catalog/node/",
        "/admin/catalog/egg/",
        "/admin/billing/order/?status__exact=error",
        "/admin/billing/stripeevent/",
        "/admin/core/alert/",
        "/admin/core/secret/",
        "/admin/accounts/user/",
    ],
)
def test_console_pages_render(catalog, staff, url):
    assert staff.get(url).status_code == 200


def test_region_form_maps_nodes(catalog, staff):
    from catalog.models import Region

    region = Region.objects.get(slug="us-east")
    html = staff.get(f"/admin/catalog/region/{region.pk}/change/").content.decode()
    assert "regionnodemap_set" in html
    listing = staff.get("/admin/catalog/region/").content.decode()
    assert "New York" in listing


def test_plan_change_form_shows_variables_and_prices(catalog, staff):
    from catalog.models import Plan

    plan = Plan.objects.get(slug="minecraft-2gb")
    html = staff.get(f"/admin/catalog/plan/{plan.pk}/change/").content.decode()
    assert "customer_variables" in html and "MINECRAFT_VERSION" in html
    assert "price_demo_minecraft_2gb" in html


def test_sync_from_panel_button_shows_the_report(catalog, staff):
    Egg.objects.filter(ptero_egg_id=3).update(name="stale")
    page = staff.get("/admin/catalog/egg/").content.decode()
    assert "Sync from panel" in page
    response = staff.post("/admin/catalog/egg/sync/", follow=True)
    html = response.content.decode()
    assert "Synced from the panel: 14 eggs, 3 nodes" in html
    assert Egg.objects.get(ptero_egg_id=3).name != "stale"
    assert staff.get("/admin/catalog/egg/sync/").status_code == 405  # POST only


def test_sync_from_panel_shows_the_panels_error(catalog, staff):
    catalog.shutdown()
    html = staff.post("/admin/catalog/region/sync/", follow=True).content.decode()
    assert "Sync from panel failed:" in html


def test_customers_cannot_sync(catalog):
    User.objects.create_user("eve@example.com", "pw-for-tests-1")
    client = Client()
    client.login(email="eve@example.com", password="pw-for-tests-1")
    response = client.post("/admin/catalog/egg/sync/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_reprocess_a_failed_stripe_event(catalog, staff):
    event = {
        "id": "evt_admin_1",
        "type": "customer.created",
        "created": 1700000000,
        "data": {"object": {"id": "cus_1"}},
    }
    StripeEvent.objects.create(
        event_id="evt_admin_1", type=event["type"], payload=event, status="failed", error="boom"
    )
    row = StripeEvent.objects.get()
    response = staff.post(
        "/admin/billing/stripeevent/",
        {"action": "reprocess", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "Event evt_admin_1: ignored (not handled)" in response.content.decode()
    row.refresh_from_db()
    assert (row.status, row.error) == ("ignored", "")
    # The log is read-only.
    assert staff.post(f"/admin/billing/stripeevent/{row.pk}/delete/").status_code == 403


def test_alerts_are_read_only(staff):
    alert = Alert.objects.create(title="Order #1: provisioning failed", body="x")
    assert staff.get(f"/admin/core/alert/{alert.pk}/change/").status_code == 200
    assert staff.post(f"/admin/core/alert/{alert.pk}/change/", {"title": "y"}).status_code == 403
    assert staff.get("/admin/core/alert/add/").status_code == 403


def test_secret_values_are_write_only(catalog, staff):
    row = Secret.objects.get(name="panel.PANEL_APP_KEY")
    html = staff.get(f"/admin/core/secret/{row.pk}/change/").content.decode()
    assert catalog.app_key not in html
    assert 'type="password"' in html
