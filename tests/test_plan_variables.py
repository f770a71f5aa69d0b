"""Plans offer customers only the egg variables the egg marks user-editable; the others are
always the operator's values (issue 14, point 3).

`user_editable` is the panel's flag on an egg variable (pterodactyl/panel v1.11.8
app/Models/EggVariable.php); the panel's own client API refuses to change the others
(app/Http/Controllers/Api/Client/Servers/StartupController.php), but the application API the
product uses does not, so the product keeps the rule. In the bundled Garry's Mod egg
SRCDS_APPID is not user-editable, GAMEMODE is.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from testkit import admin_form_data, make_customer, superuser_client

from accounts.models import User
from billing.models import Order
from catalog.models import Allocation, Plan
from catalog.variables import environment_for

pytestmark = pytest.mark.django_db(transaction=True)

GMOD = "garrys-mod-3gb"


def _snapshot(plan: Plan) -> dict:
    plan.refresh_from_db()
    return {"customer_variables": plan.customer_variables, "environment": plan.environment}


# --- the model --------------------------------------------------------------------------------


def test_model_refuses_a_variable_the_egg_keeps_for_the_operator(catalog):
    plan = Plan.objects.get(slug=GMOD)
    plan.customer_variables = ["GAMEMODE", "SRCDS_APPID"]
    with pytest.raises(ValidationError) as caught:
        plan.full_clean()
    assert caught.value.message_dict == {
        "customer_variables": [
            "SRCDS_APPID: egg 9 (Garrys Mod) does not let users edit it, so only the operator "
            "sets it: give its value in environment instead."
        ]
    }


def test_model_refuses_an_unknown_variable_and_a_malformed_list(catalog):
    plan = Plan.objects.get(slug=GMOD)
    plan.customer_variables = ["NOT_IN_THE_EGG"]
    with pytest.raises(ValidationError) as caught:
        plan.full_clean()
    assert caught.value.message_dict == {
        "customer_variables": ["NOT_IN_THE_EGG: egg 9 (Garrys Mod) has no such variable."]
    }
    plan.customer_variables = {"GAMEMODE": True}
    with pytest.raises(ValidationError) as caught:
        plan.full_clean()
    assert caught.value.message_dict == {
        "customer_variables": ['List env names of the egg, e.g. ["MINECRAFT_VERSION"].']
    }


def test_model_accepts_editable_variables(catalog):
    plan = Plan.objects.get(slug=GMOD)
    plan.customer_variables = ["GAMEMODE", "MAX_PLAYERS", "SRCDS_MAP"]
    plan.full_clean()
    for plan in Plan.objects.all():  # every demo plan passes the rule
        plan.full_clean()


# --- the operator console ---------------------------------------------------------------------


@pytest.fixture
def staff() -> Client:
    return superuser_client()


def test_console_plan_form_refuses_a_non_editable_variable(catalog, staff):
    plan = Plan.objects.get(slug=GMOD)
    before = _snapshot(plan)
    url = f"/admin/catalog/plan/{plan.pk}/change/"
    data = admin_form_data(staff, url)
    data["customer_variables"] = json.dumps(["GAMEMODE", "SRCDS_APPID"])

    response = staff.post(url, data)

    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert errors == {
        "customer_variables": [
            "SRCDS_APPID: egg 9 (Garrys Mod) does not let users edit it, so only the operator "
            "sets it: give its value in environment instead."
        ]
    }
    assert _snapshot(plan) == before


def test_console_plan_form_saves_editable_variables(catalog, staff):
    plan = Plan.objects.get(slug=GMOD)
    url = f"/admin/catalog/plan/{plan.pk}/change/"
    data = admin_form_data(staff, url)
    data["customer_variables"] = json.dumps(["GAMEMODE", "SRCDS_MAP"])

    response = staff.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _snapshot(plan)["customer_variables"] == ["GAMEMODE", "SRCDS_MAP"]


# --- manage.py doctor -------------------------------------------------------------------------


def test_doctor_names_the_plan_and_the_variable(catalog, stripe_sandbox):
    # A plan saved before the rule (or written around the console) still lists one.
    call_command("stripe_setup", stdout=io.StringIO())  # the doctor also reads the endpoint
    Plan.objects.filter(slug=GMOD).update(customer_variables=["GAMEMODE", "SRCDS_APPID"])
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("doctor", stdout=out, no_color=True)
    assert str(caught.value) == "1 problem to fix."
    fails = [line for line in out.getvalue().splitlines() if line.startswith("FAIL")]
    assert fails == [
        "FAIL: Plans offer customers only user-editable egg variables: plan 'garrys-mod-3gb' "
        "offers SRCDS_APPID: egg 9 (Garrys Mod) does not let users edit it, so only the "
        "operator sets it: give its value in environment instead. Remove it from the plan's "
        "customer variables (admin → Catalog → Plans)"
    ]


# --- checkout and provisioning ----------------------------------------------------------------


def _checkout(client: Client, variables: dict) -> object:
    body = {"plan": GMOD, "region": "us-east", "server_name": "gm", "variables": variables}
    return client.post(
        "/api/checkout/session",
        data=json.dumps(body),
        content_type="application/json",
    )


@pytest.mark.parametrize("listed", [False, True])
def test_checkout_never_takes_a_customer_value_for_a_non_editable_variable(
    catalog, stripe_sandbox, listed
):
    if listed:  # a plan saved before the rule lists it: still the operator's
        Plan.objects.filter(slug=GMOD).update(customer_variables=["GAMEMODE", "SRCDS_APPID"])
    _, client = make_customer("gm@example.com")
    free_before = Allocation.objects.filter(order__isnull=True).count()

    response = _checkout(client, {"GAMEMODE": "darkrp", "SRCDS_APPID": "730"})

    assert response.status_code == 422
    assert response.json()["detail"] == "This plan does not let you choose SRCDS_APPID."
    assert Order.objects.count() == 0
    assert Allocation.objects.filter(order__isnull=True).count() == free_before
    assert stripe_sandbox.sessions == {}


def test_checkout_with_csrf_enforced_takes_editable_values(catalog, stripe_sandbox):
    _, client = make_customer("gm@example.com")
    refused = Client(enforce_csrf_checks=True)
    refused.force_login(User.objects.get(email="gm@example.com"))
    body = json.dumps({"plan": GMOD, "region": "us-east", "server_name": "gm"})
    assert (
        refused.post("/api/checkout/session", data=body, content_type="application/json")
    ).status_code == 403  # CSRF is really checked

    response = _checkout(client, {"GAMEMODE": "darkrp"})

    assert response.status_code == 201, response.content
    assert Order.objects.get().variables == {"GAMEMODE": "darkrp"}


def test_provisioning_sends_the_operators_value_whatever_the_order_holds(catalog):
    plan = Plan.objects.select_related("egg").get(slug=GMOD)
    # An order taken before the rule holds a customer value for SRCDS_APPID.
    env = environment_for(
        egg=plan.egg, plan=plan, chosen={"SRCDS_APPID": "730", "GAMEMODE": "darkrp"}
    )
    assert env["SRCDS_APPID"] == "4020"  # the egg's default, the operator's choice
    assert env["GAMEMODE"] == "darkrp"
    plan.environment = {"SRCDS_APPID": "4000"}
    env = environment_for(egg=plan.egg, plan=plan, chosen={"SRCDS_APPID": "730"})
    assert env["SRCDS_APPID"] == "4000"  # the plan's fixed value
