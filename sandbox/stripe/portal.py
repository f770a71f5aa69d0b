"""Stripe's Customer Portal, as far as the client area needs it.

* ``POST /v1/billing_portal/sessions`` (Stripe API, "Create a portal session"; the SDK's
  stripe/billing_portal/_session.py and stripe/params/billing_portal/_session_create_params.py):
  every name checked against Stripe's parameter schema (schema.json, generated from those
  TypedDicts); ``customer`` must exist (``No such customer``, param ``customer``);
  ``return_url`` is a URL.
  ``configuration``, ``flow_data``, ``locale``, ``on_behalf_of``, ``after_expiration`` and
  ``customer_account`` are real parameters the sandbox does not model: refused with a message
  that says so, never silently ignored; anything else is Stripe's "Received unknown
  parameter". The session object has Stripe's fields (``bps_`` id, ``configuration`` of the
  account's default ``bpc_``, ``flow`` null, ``url``).
* The page behind ``url``: the customer's invoices (number, amount, status, a link to each
  paid one's receipt), the subscriptions' state, a card update and a link back to
  ``return_url``. Stripe says sessions are short-lived and expire when not visited; it does
  not publish the figure, the sandbox uses 5 minutes to first visit.
* The card update clears the failed-payment state: the customer's payments stop failing and
  every open invoice is paid (``pay_invoice``: ``invoice.paid``, ``invoice.payment_succeeded``,
  ``customer.subscription.updated`` delivered as Stripe would). Choosing the declining test
  card makes the customer's payments fail from then on.
"""

from __future__ import annotations

import copy
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from . import objects
from .checkout_page import _page, format_amount
from .errors import StripeApiError, invalid, no_such, unknown_parameter
from .validation import validate_params

if TYPE_CHECKING:
    from .core import StripeSandbox

UNVISITED_TTL = 5 * 60
_UNMODELLED = {
    "configuration",
    "flow_data",
    "locale",
    "on_behalf_of",
    "after_expiration",
    "customer_account",
}
_ALLOWED = {"customer", "return_url", "expand"}
DEFAULT_CONFIGURATION = "bpc_sandboxdefault"


def create_portal_session(sb: StripeSandbox, params: dict[str, Any], base_url: str) -> dict:
    # Stripe's own parameter schema first (unknown names at any depth, enums, types).
    validate_params("POST /v1/billing_portal/sessions", params)
    for key in params:
        if key in _UNMODELLED:
            raise invalid(key, f"The Stripe sandbox does not model `{key}` on portal sessions.")
        if key not in _ALLOWED:
            raise unknown_parameter(key)
    customer = params.get("customer")
    if not isinstance(customer, str) or not customer:
        raise invalid("customer", "Missing required param: customer.", code="parameter_missing")
    return_url = params.get("return_url")
    if return_url is not None:
        parts = urlsplit(str(return_url))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid("return_url", "Not a valid URL", code="url_invalid")
    else:
        # The sandbox's default configuration has no default_return_url, so Stripe would
        # have nowhere to send the customer back.
        raise invalid(
            "return_url",
            "You must provide a `return_url` since no default return URL is set in your "
            "customer portal configuration.",
        )
    with sb.lock:
        if customer not in sb.customers:
            raise no_such("customer", customer, param="customer")
        sid = objects.new_id("bps")
        session = {
            "id": sid,
            "object": "billing_portal.session",
            "configuration": DEFAULT_CONFIGURATION,
            "created": sb.now(),
            "customer": customer,
            "customer_account": None,
            "flow": None,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "return_url": str(return_url),
            "url": f"{(sb.public_url or base_url).rstrip('/')}/portal/{sid}",
        }
        sb.portal_sessions[sid] = {**session, "visited": False}
        sb._save()
    return session


def _render(sb: StripeSandbox, session: dict[str, Any], notice: str = "") -> str:
    customer = session["customer"]
    invoices = sb.list_invoices({"customer": customer})
    with sb.lock:
        subs = [copy.deepcopy(s) for s in sb.subscriptions.values() if s["customer"] == customer]
        failing = bool(sb.failing_customers.get(customer))
    rows = []
    for inv in invoices:
        amount = escape(format_amount(inv["amount_due"], inv["currency"]))
        rows.append(
            f'<tr data-invoice="{escape(inv["id"])}"><td>{escape(inv.get("number") or "—")}</td>'
            f"<td>{amount}</td>"
            f'<td class="invoice-status">{escape(inv["status"])}</td></tr>'
        )
    table = (
        '<table id="invoices"><thead><tr><th>Invoice</th><th>Amount</th><th>Status</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p id="invoices">No invoices yet.</p>'
    )
    sub_lines = "".join(
        f'<li data-subscription="{escape(s["id"])}">{escape(s["id"])}: '
        f'<span class="subscription-status">{escape(s["status"])}</span></li>'
        for s in subs
    )
    card = "declining test card" if failing else "test card ending 4242"
    notice_html = f'<p class="notice" role="status">{escape(notice)}</p>' if notice else ""
    back = escape(session["return_url"])
    body = f"""<h1>Billing</h1>
{notice_html}
<h2>Subscriptions</h2><ul id="subscriptions">{sub_lines}</ul>
<h2>Payment method</h2>
<p>Current: <strong id="payment-method">{escape(card)}</strong></p>
<form method="post" action="/portal/{escape(session["id"])}/payment_method">
<label><input type="radio" name="card" value="4242" checked> 4242 4242 4242 4242 (succeeds)</label>
<label><input type="radio" name="card" value="0341"> 4000 0000 0000 0341 (declines)</label>
<button type="submit" id="update-card">Update payment method</button>
</form>
<h2>Invoice history</h2>
{table}
<p><a href="{back}" id="return-link">Return to the shop</a></p>"""
    return _page("Billing", body)


Response = tuple[int, list[tuple[str, str]], bytes]


def _html(status: int, text: str) -> Response:
    return status, [("Content-Type", "text/html; charset=utf-8")], text.encode()


def handle_portal(sb: StripeSandbox, method: str, path: str, body: bytes) -> Response:
    rest = path[len("/portal/") :].strip("/")
    sid, _, action = rest.partition("/")
    with sb.lock:
        session = sb.portal_sessions.get(sid)
        expired = (
            session is not None
            and not session["visited"]
            and sb.now() > session["created"] + UNVISITED_TTL
        )
        if session is not None and not expired:
            session["visited"] = True
        session = copy.deepcopy(session)
    if session is None or expired:
        page = _page("Session expired", "<h1>This billing session has expired.</h1>")
        return _html(404 if session is None else 410, page)
    if not action and method == "GET":
        return _html(200, _render(sb, session))
    if action == "payment_method" and method == "POST":
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        customer = session["customer"]
        if form.get("card") == "0341":
            sb.set_payment_failing(customer, True)
            return _html(200, _render(sb, session, "Payment method updated."))
        sb.set_payment_failing(customer, False)
        open_ids = [i["id"] for i in sb.list_invoices({"customer": customer, "status": "open"})]
        for invoice_id in open_ids:
            sb.pay_invoice(invoice_id, deliver=True)
        paid = f" {len(open_ids)} open invoice(s) paid." if open_ids else ""
        return _html(200, _render(sb, session, f"Payment method updated.{paid}"))
    return _html(405, _page("Method not allowed", "<h1>Method not allowed</h1>"))


__all__ = ["StripeApiError", "create_portal_session", "handle_portal"]
