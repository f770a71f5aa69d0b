"""The console edits placement (issue 16 point 4): a region's policy, a node's drain and
weight, through the real admin forms (CSRF enforced); lifting a drain there is a waitlist
event; the region's page lists its waitlist."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult
from staff import staff_client, token

from catalog.models import Node, Region, WaitlistEntry
from catalog.tasks import waitlist_check

pytestmark = pytest.mark.django_db(transaction=True)


def _form_data(client, url: str) -> dict[str, object]:
    """What the browser would send back unchanged: the change form's initial values."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data: dict[str, object] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
        for sub in formset.formset.forms:
            if sub.instance.pk is None:
                continue  # the blank extra row: left blank
            for name in sub.fields:
                value = sub.instance.pk if name == "id" else sub[name].value()
                if value is not None and not isinstance(value, bool):
                    data[f"{sub.prefix}-{name}"] = getattr(value, "pk", value)
    data["csrfmiddlewaretoken"] = token(client, url)
    return data


def test_drain_and_weight_are_set_on_the_node_form_and_lifting_a_drain_tells_the_waitlist(
    catalog, customer
):
    owner = staff_client("owner@example.com", group="owner")
    node = Node.objects.get(name="ny-1")
    url = f"/admin/catalog/node/{node.pk}/change/"
    data = {**_form_data(owner, url), "drained": "on", "weight": "4"}
    response = owner.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    node.refresh_from_db()
    assert (node.drained, node.weight) == (True, 4)
    assert not DBTaskResult.objects.filter(task_path=waitlist_check.module_path).exists()

    # Someone waits in us-east; lifting the drain queues the waitlist check.
    user, _ = customer
    WaitlistEntry.objects.create(
        user=user,
        plan_id=_plan_id(),
        region=Region.objects.get(slug="us-east"),
        subscribed_at=node.created_at,
    )
    data = _form_data(owner, url)
    data.pop("drained")
    assert owner.post(url, data).status_code == 302
    node.refresh_from_db()
    assert node.drained is False
    queued = DBTaskResult.objects.filter(task_path=waitlist_check.module_path)
    assert queued.count() == 1
    assert queued.get().args_kwargs["kwargs"]["event"].startswith(f"node-{node.pk}-undrained-")


def _plan_id() -> int:
    from catalog.models import Plan

    return Plan.objects.get(slug="minecraft-2gb").pk


def test_the_region_form_sets_the_policy_and_shows_its_waitlist(catalog, customer):
    owner = staff_client("owner@example.com", group="owner")
    region = Region.objects.get(slug="us-east")
    user, _ = customer
    WaitlistEntry.objects.create(
        user=user, plan_id=_plan_id(), region=region, subscribed_at=region.created_at
    )
    url = f"/admin/catalog/region/{region.pk}/change/"
    page = owner.get(url).content.decode()
    assert "alice@example.com" in page and "Waitlist (first in line first)" in page
    data = {**_form_data(owner, url), "placement_policy": "spread"}
    response = owner.post(url, data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        [f.formset.errors for f in response.context["inline_admin_formsets"]],
        data,
    )
    region.refresh_from_db()
    assert region.placement_policy == "spread"
    # The list shows how many wait.
    listing = owner.get("/admin/catalog/region/").content.decode()
    assert "spread" in listing
