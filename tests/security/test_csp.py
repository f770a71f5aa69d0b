"""The customer pages carry a Content Security Policy and actually meet it: no inline script or
style, no event-handler attributes, every script and stylesheet from our own static files."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from testkit import checkout, make_customer

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def parse_csp(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            out[name] = value.strip()
    return out


class Audit(HTMLParser):
    """Collects everything a `script-src 'self'; style-src 'self'` policy would block."""

    def __init__(self) -> None:
        super().__init__()
        self.violations: list[str] = []
        self.assets: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.violations.append(f"<{tag} {name}=...> (inline event handler)")
            if name == "style":
                self.violations.append(f"<{tag} style={value!r}> (inline style)")
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.violations.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.violations.append("<style> element")
        if tag == "script":
            src = a.get("src")
            if not src:
                kind = a.get("type") or ""
                # A JSON data block is not executed, so script-src does not apply to it.
                if kind != "application/json":
                    self.violations.append("inline <script>")
            else:
                self.assets.append(src)
        if tag == "link" and (a.get("rel") or "") in ("stylesheet", "icon"):
            self.assets.append(a.get("href") or "")


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    return parser


@pytest.fixture
def pages(catalog, stripe_sandbox):
    _, client = make_customer("csp@example.com")
    order_id = checkout(client).json()["order_id"]
    anonymous = [
        "/",
        "/games/minecraft",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
    ]
    logged_in = [
        "/dashboard",
        "/buy/minecraft-2gb",
        "/buy/garrys-mod-3gb",
        f"/orders/{order_id}",
        f"/orders/{order_id}/cancel",
        "/accounts/profile/",
        "/accounts/email/",
        "/accounts/password/change/",
    ]
    return [(Client(), p) for p in anonymous] + [(client, p) for p in logged_in]


def test_every_customer_page_has_the_policy_and_meets_it(pages, settings):
    seen = 0
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        csp = parse_csp(response["Content-Security-Policy"])
        for directive, value in EXPECTED_CSP.items():
            assert csp[directive] == value, (path, directive, csp.get(directive))
        # The buy form is redirected to Stripe Checkout (here: the sandbox on its port).
        assert csp["form-action"].split() == [
            "'self'",
            "https://checkout.stripe.com",
            "https://billing.stripe.com",
            settings.STRIPE_API_BASE,
        ]
        found = audit(response.content.decode())
        assert found.violations == [], (path, found.violations)
        for asset in found.assets:
            # Our own static files, and they exist (a missing one would be a silent 404).
            assert asset.startswith("/static/"), (path, asset)
            name = asset.removeprefix("/static/")
            if not name.startswith("vendor/"):  # Pico is fetched by `make static`
                assert finders.find(name), (path, asset)
        seen += 1
    assert seen == len(pages) == 13


def test_the_audit_catches_what_the_policy_blocks():
    """The checker itself: each of these would be blocked by the policy above."""
    bad = (
        "<script>alert(1)</script><style>p{}</style><p style='color:red'>x</p>"
        "<button onclick='x()'>b</button><a href='javascript:x()'>a</a>"
    )
    assert len(audit(bad).violations) == 5
    good = '<script src="/static/storefront/site.js" defer></script><p class="flush">x</p>'
    assert audit(good).violations == []


def test_the_order_page_script_is_a_static_file(catalog, stripe_sandbox):
    _, client = make_customer("js@example.com")
    order_id = checkout(client).json()["order_id"]
    found = audit(client.get(f"/orders/{order_id}").content.decode())
    assert "/static/storefront/site.js" in found.assets


def test_the_admin_is_left_out_and_real_stripe_only_without_a_sandbox(db, settings):
    settings.STRIPE_API_BASE = ""
    assert "Content-Security-Policy" not in Client().get("/admin/login/")
    csp = parse_csp(Client().get("/")["Content-Security-Policy"])
    assert csp["form-action"] == "'self' https://checkout.stripe.com https://billing.stripe.com"


def test_favicon_has_a_home_and_no_404(db):
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/storefront/favicon.svg"
    assert finders.find("storefront/favicon.svg")
    assert (
        '<link rel="icon" href="/static/storefront/favicon.svg"' in client.get("/").content.decode()
    )


def test_client_area_pages_meet_the_policy(catalog, stripe_sandbox):
    """The client area (live state, power buttons, billing links, panel password form) adds
    no inline script or style; its script and stylesheet are static files."""
    from billing.models import Order

    user, client = make_customer("area@example.com")
    order_id = checkout(client).json()["order_id"]
    Order.objects.filter(pk=order_id).update(
        status="provisioned", ptero_identifier="abcd1234", server_address="10.0.0.5:25565"
    )
    user.pterodactyl_user_id = 1
    user.save()
    for path in (f"/orders/{order_id}", "/dashboard", "/accounts/profile/"):
        response = client.get(path)
        assert response.status_code == 200, path
        found = audit(response.content.decode())
        assert found.violations == [], (path, found.violations)
        for asset in found.assets:
            assert asset.startswith("/static/") and (
                asset.startswith("/static/vendor/") or finders.find(asset.removeprefix("/static/"))
            ), (path, asset)
    page = client.get(f"/orders/{order_id}").content.decode()
    assert "/static/storefront/live.js" in audit(page).assets
    assert "/static/storefront/client_area.css" in audit(page).assets
