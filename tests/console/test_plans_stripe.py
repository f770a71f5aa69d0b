"""Plans from the console: saving a price creates the Stripe Product and Price through the API
(sandbox over real HTTP), every plan field is in the form, the price id is never typed; a
refused price saves nothing. Plus the sandbox's POST /v1/products rules."""

from __future__ import annotations

import pytest
import stripe
from staff import staff_client

from catalog.models import Plan

pytestmark = pytest.mark.django_db(transaction=True)

GMOD = "garrys-mod-3gb"


def _form(client, url: str) -> dict:
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {"csrfmiddlewaretoken": page.cookies.get("csrftoken").value}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value is not False and value is not None:
            data[name] = value
    return data


@pytest.fixture
def owner(db):
    return staff_client("owner@example.com", group="owner")


def test_every_plan_field_is_in_the_form_and_the_price_id_is_read_only(catalog, owner):
    plan = Plan.objects.get(slug=GMOD)
    page = owner.get(f"/admin/catalog/plan/{plan.pk}/change/")
    form = page.context["adminform"].form
    editable = {f.name for f in Plan._meta.fields if f.editable and not f.auto_created}
    assert set(form.fields) == editable - {"stripe_price_id"}
    assert "recurring_interval" in form.fields
    assert plan.stripe_price_id in page.content.decode()  # shown, not editable


def test_a_new_price_creates_product_and_price_in_stripe(catalog, stripe_sandbox, owner):
    plan = Plan.objects.get(slug=GMOD)
    url = f"/admin/catalog/plan/{plan.pk}/change/"
    data = _form(owner, url)
    data.update(price_cents="1299", recurring_interval="month", stripe_price_id="price_typed")
    response = owner.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    plan.refresh_from_db()
    price = stripe_sandbox.prices[plan.stripe_price_id]
    assert (price["unit_amount"], price["currency"], price["recurring"]["interval"]) == (
        1299,
        "usd",
        "month",
    )
    product = stripe_sandbox.products[price["product"]]
    assert product["name"] == f"{plan.game.name} {plan.name}"
    assert product["metadata"] == {"givrwrld_plan": GMOD}
    assert plan.stripe_price_id != "price_typed"

    # The same terms again: nothing new in Stripe (idempotency keys); other fields only: no call.
    n_prices, n_products = len(stripe_sandbox.prices), len(stripe_sandbox.products)
    data = _form(owner, url)
    data["memory"] = "3000"
    assert owner.post(url, data).status_code == 302
    assert (len(stripe_sandbox.prices), len(stripe_sandbox.products)) == (n_prices, n_products)

    # One-off: a price without `recurring`.
    data = _form(owner, url)
    data.update(price_cents="4999", recurring_interval="")
    assert owner.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert stripe_sandbox.prices[plan.stripe_price_id]["recurring"] is None


def test_a_refused_price_saves_nothing(catalog, stripe_sandbox, owner):
    plan = Plan.objects.get(slug=GMOD)
    before = Plan.objects.filter(pk=plan.pk).values().get()
    url = f"/admin/catalog/plan/{plan.pk}/change/"
    data = _form(owner, url)
    data.update(price_cents="1299", currency="zzz")  # Stripe refuses the currency
    response = owner.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors and errors[0].startswith("Stripe refused the price:")
    assert Plan.objects.filter(pk=plan.pk).values().get() == before


def test_sandbox_products_follow_stripe(stripe_sandbox, settings):
    sdk = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE}
    )
    product = sdk.v1.products.create({"name": "Rust 8 GB 🦀", "metadata": {"k": "v"}})
    assert (product.object, product.name, product.active) == ("product", "Rust 8 GB 🦀", True)
    assert sdk.v1.products.retrieve(product.id).id == product.id
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk.v1.products.create({})  # type: ignore[typeddict-item]
    assert missing.value.param == "name"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        sdk.v1.products.create({"name": "x", "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert "colour" in str(unknown.value)
    price = sdk.v1.prices.create({"product": product.id, "unit_amount": 800, "currency": "usd"})
    assert price.product == product.id
