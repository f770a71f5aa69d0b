"""The hosted Checkout page (plain HTML, no JavaScript, no external assets)."""

from __future__ import annotations

from html import escape
from typing import Any

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}


def format_amount(amount: int | None, currency: str | None) -> str:
    """``1500, "usd"`` → ``$15.00``; ``500, "jpy"`` → ``¥500``; unknown codes → ``15.00 SEK``."""
    if amount is None or currency is None:
        return "—"
    cur = currency.lower()
    value = f"{amount:,}" if cur in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    if cur in SYMBOLS:
        return f"{SYMBOLS[cur]}{value}"
    return f"{value} {cur.upper()}"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
  background:#f6f7f9;color:#1a1f36;line-height:1.5}
.banner{background:#ffde92;color:#5b3b00;padding:.5rem 1rem;text-align:center;font-weight:600}
main{max-width:34rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;
  box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}
table{width:100%;border-collapse:collapse;margin:1rem 0}
th,td{text-align:left;padding:.4rem 0;border-bottom:1px solid #e3e8ee}
td.num,th.num{text-align:right}
tfoot td{font-weight:700;border-bottom:none}
label{display:block;font-weight:600;margin-top:1rem}
input[type=email]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.25rem;width:100%;padding:.75rem;font-size:1.1rem;font-weight:600;
  background:#635bff;color:#fff;border:0;border-radius:6px;cursor:pointer}
button:focus,a:focus,input:focus{outline:3px solid #1a1f36;outline-offset:2px}
.muted{color:#596171;font-size:.9rem}
.notice{padding:.75rem 1rem;border-radius:6px;background:#eef1f5}
.cancel{display:inline-block;margin-top:1rem}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)} · Stripe sandbox (test mode)</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        '<div class="banner" role="note">TEST MODE — Stripe sandbox. '
        "No real payment is taken.</div>\n"
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _interval(item: dict[str, Any]) -> str:
    recurring = item["price"].get("recurring")
    if not recurring:
        return ""
    count = recurring.get("interval_count", 1)
    unit = recurring["interval"]
    return f" / {unit}" if count == 1 else f" / {count} {unit}s"


def render_checkout(
    session: dict[str, Any], items: list[dict[str, Any]], *, error: str | None = None
) -> str:
    sid = escape(session["id"])
    rows = "\n".join(
        "<tr>"
        f"<td>{escape(str(i['description']))}</td>"
        f'<td class="num">{i["quantity"]}</td>'
        f'<td class="num">{escape(format_amount(i["amount_total"], i["currency"]))}'
        f"{escape(_interval(i))}</td>"
        "</tr>"
        for i in items
    )
    total = escape(format_amount(session["amount_total"], session["currency"]))
    money = session["currency"]
    details = session.get("total_details") or {}
    extra_rows = ""
    if details.get("amount_discount"):
        off = format_amount(details["amount_discount"], money)
        extra_rows += (
            f'<tr><td colspan="2">Discount</td><td class="num" id="discount">-{escape(off)}'
            "</td></tr>"
        )
    tax_html = ""
    if (session.get("automatic_tax") or {}).get("enabled"):
        tax_html = (
            '<p class="muted" id="tax-note">Tax is calculated from your billing address when '
            "you pay (sandbox rate: 10%).</p>"
        )
    promo_html = ""
    if session.get("allow_promotion_codes"):
        promo_html = (
            '<label for="promotion_code">Promotion code</label>'
            '<input id="promotion_code" name="promotion_code" autocomplete="off">'
        )
    address_html = ""
    if session.get("billing_address_collection") == "required" or tax_html:
        fields = (
            ("line1", "Address", "510 Townsend St"),
            ("city", "City", "San Francisco"),
            ("postal_code", "Postal code", "94103"),
            ("state", "State", "CA"),
            ("country", "Country", "US"),
        )
        address_html = (
            "<fieldset><legend>Billing address</legend>"
            + "".join(
                f'<label for="address_{k}">{label}</label>'
                f'<input id="address_{k}" name="address_{k}" value="{value}" required>'
                for k, label, value in fields
            )
            + "</fieldset>"
        )
    error_html = f'<p class="notice" role="alert">{escape(error)}</p>' if error else ""
    email = session.get("customer_email") or ""
    if email:
        email_html = (
            f'<p>Paying as <strong id="customer-email">{escape(email)}</strong></p>'
            f'<input type="hidden" name="email" value="{escape(email)}">'
        )
    else:
        email_html = (
            '<label for="email">Email</label>'
            '<input id="email" name="email" type="email" autocomplete="email" '
            'value="buyer@example.com" required>'
        )
    cancel = session.get("cancel_url")
    cancel_html = (
        f'<a class="cancel" href="{escape(cancel)}">Cancel and return to the shop</a>'
        if cancel
        else ""
    )
    mode_note = {
        "payment": "One-time payment",
        "subscription": "Subscription",
        "setup": "Save a payment method",
    }.get(session["mode"], session["mode"])
    recurring_html = ""
    if session["mode"] == "subscription":
        per: dict[str, int] = {}
        for i in items:
            if i["price"].get("recurring"):
                key = _interval(i)
                per[key] = per.get(key, 0) + int(i["amount_total"])
        parts = [
            f"{format_amount(amount, session['currency'])}{key}" for key, amount in per.items()
        ]
        recurring_html = (
            f'<p id="recurring">Then <strong>{escape(" + ".join(parts))}</strong>, renewing '
            "automatically until you cancel.</p>"
        )
    card_note = "Card: Visa test card 4242 4242 4242 4242 (simulated; nothing to enter)."
    if session["mode"] == "payment":
        # A delayed-notification method: the session completes unpaid and settles later
        # (sb.settle_async_payment / POST /_sandbox/sessions/{id}/async_payment).
        method_html = (
            "<fieldset><legend>Payment method</legend>"
            '<label><input type="radio" name="payment_method" value="card" checked> '
            f"{escape(card_note)}</label>"
            '<label><input type="radio" name="payment_method" value="delayed"> '
            "US bank account (test): the payment is confirmed later</label>"
            "</fieldset>"
        )
    else:
        method_html = f'<p class="muted">{escape(card_note)}</p>'
    body = f"""<h1>Checkout</h1>
<p class="muted">{escape(mode_note)} · session <code>{sid}</code></p>
<table>
<caption class="muted">Order summary</caption>
<thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th>
<th scope="col" class="num">Amount</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot>{extra_rows}
<tr><td colspan="2">Total due today</td><td class="num" id="total">{total}</td></tr></tfoot>
</table>
{recurring_html}
{error_html}
<form method="post" action="/pay/{sid}">
{email_html}
{address_html}
{promo_html}
{tax_html}
{method_html}
<button type="submit">Pay {total}</button>
</form>
{cancel_html}"""
    return _page("Checkout", body)


def render_receipt(charge: dict[str, Any]) -> str:
    """The hosted receipt behind ``charge.receipt_url``."""
    amount = escape(format_amount(charge["amount"], charge["currency"]))
    refunded = ""
    if charge["amount_refunded"]:
        back = escape(format_amount(charge["amount_refunded"], charge["currency"]))
        refunded = f'<p id="refunded">Refunded: {back}</p>'
    number = charge.get("receipt_number") or "—"
    body = f"""<h1>Receipt</h1>
<p>Receipt <strong id="receipt-number">{escape(number)}</strong></p>
<p>Amount paid: <strong id="amount">{amount}</strong></p>
{refunded}
<p class="muted">Charge <code>{escape(charge["id"])}</code>, {escape(charge["status"])}</p>"""
    return _page("Receipt", body)


def render_message(session: dict[str, Any] | None, title: str, message: str) -> str:
    links = ""
    if session is not None:
        if session["status"] == "complete" and session.get("success_url"):
            url = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
            links = f'<p><a href="{escape(url)}">Return to the shop</a></p>'
        elif session.get("cancel_url"):
            links = f'<p><a href="{escape(session["cancel_url"])}">Return to the shop</a></p>'
    notice = f'<p class="notice" role="status">{escape(message)}</p>'
    body = f"<h1>{escape(title)}</h1>\n{notice}\n{links}"
    return _page(title, body)
