"""The console's plan form for port templates (issue 16 point 1): it shows the egg's port
variables and the stock template, and refuses a template the egg cannot take, saving nothing."""

from __future__ import annotations

import json

import pytest
from staff import staff_client
from test_plans_stripe import _form

from catalog.models import Plan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(db):
    return staff_client("owner@example.com", group="owner")


def test_the_form_offers_the_eggs_port_variables_and_the_stock_template(catalog, owner):
    plan = Plan.objects.get(slug="rust-4gb")
    page = owner.get(f"/admin/catalog/plan/{plan.pk}/change/").content.decode()
    assert "QUERY_PORT, RCON_PORT, APP_PORT" in page
    assert "Suggested template: {&quot;RCON_PORT&quot;: &quot;+1&quot;" in page


def test_a_bad_template_is_refused_with_the_reason_and_nothing_saved(
    catalog, stripe_sandbox, owner
):
    plan = Plan.objects.get(slug="rust-4gb")
    before = Plan.objects.filter(pk=plan.pk).values().get()
    url = f"/admin/catalog/plan/{plan.pk}/change/"
    data = _form(owner, url)
    data["port_template"] = json.dumps({"RCON_PORT": "+1", "QUERY_PORT": "next", "APP_PORT": "any"})
    response = owner.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["port_template"]
    assert errors == [
        'QUERY_PORT: give "primary", "any" or "+k" with k from 1 to 100 (got \'next\').'
    ]
    assert Plan.objects.filter(pk=plan.pk).values().get() == before


def test_a_good_template_is_saved(catalog, stripe_sandbox, owner):
    plan = Plan.objects.get(slug="rust-4gb")
    url = f"/admin/catalog/plan/{plan.pk}/change/"
    data = _form(owner, url)
    template = {"RCON_PORT": "+1", "QUERY_PORT": "+2", "APP_PORT": "primary"}
    data["port_template"] = json.dumps(template)
    assert owner.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert plan.port_template == template
