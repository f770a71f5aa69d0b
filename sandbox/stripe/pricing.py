"""Coupons, promotion codes, automatic tax and e-mailed receipts: the smallest faithful model
of what Checkout does with ``allow_promotion_codes``/``discounts``, ``automatic_tax`` and
Stripe's receipt e-mails.

Sources: Stripe API reference "Coupons" (stripe/_coupon.py), "Promotion codes"
(stripe/_promotion_code.py, params PromotionCodeCreateParams: ``promotion[type]=coupon``),
"Discounts" (stripe/_discount.py), Checkout Session ``discounts``, ``total_details``,
``automatic_tax`` (stripe/checkout/_session.py), Charge ``receipt_email``/``receipt_url``/
``receipt_number`` (stripe/_charge.py) and the docs pages "Add discounts" (Checkout),
"Collect taxes" (Checkout) and "Email receipts".

Tax is a fixed sandbox rate, :data:`TAX_RATE_PERCENT` (exclusive, on the discounted amount of
each line), whatever the address: Stripe Tax's real rates depend on the location and the
product's tax code, which the sandbox does not model.

Mixed into :class:`sandbox.stripe.core.StripeSandbox`.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from . import objects
from .errors import SandboxError, StripeApiError, invalid, missing, no_such
from .validation import validate_params

TAX_RATE_PERCENT = 10  # the sandbox's one automatic-tax rate, exclusive
_CODE_RE = re.compile(r"^[a-zA-Z0-9]{3,200}$")  # Stripe: promotion codes are alphanumeric


def tax_amount(taxable: int) -> int:
    """Exclusive tax at the sandbox rate, rounded half up to the minor unit."""
    return (taxable * TAX_RATE_PERCENT * 2 + 100) // 200


def spread(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` over lines in proportion to ``weights``; the rounding goes to the last
    line so the parts add up exactly."""
    base = sum(weights)
    if base <= 0:
        return [0 for _ in weights]
    parts = [total * w // base for w in weights]
    if parts:
        parts[-1] += total - sum(parts)
    return parts


class PricingMixin:
    # provided by StripeSandbox
    lock: Any
    knobs: dict[str, Any]
    coupons: dict[str, dict[str, Any]]
    promotion_codes: dict[str, dict[str, Any]]
    discounts: dict[str, dict[str, Any]]
    receipts: list[dict[str, Any]]
    customers: dict[str, dict[str, Any]]

    if TYPE_CHECKING:

        def now(self) -> int: ...

        def _save(self) -> None: ...

    # --- coupons and promotion codes (API) -------------------------------------------

    def create_coupon(self, p: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/coupons``: ``percent_off`` (0 < x <= 100) xor ``amount_off`` +
        ``currency``; ``duration`` once (default) / repeating (+ ``duration_in_months``) /
        forever."""
        from .core import as_int, as_str, check_currency, check_metadata

        validate_params("POST /v1/coupons", p)
        pct = p.get("percent_off")
        amount = p.get("amount_off")
        if (pct is None) == (amount is None):
            raise StripeApiError(
                400, "You must pass exactly one of these parameters: amount_off, percent_off."
            )
        percent: float | None = None
        if pct is not None:
            percent = float(pct)
            if not 0 < percent <= 100:
                raise invalid("percent_off", "Percent off must be between 0 and 100.")
        amount_off: int | None = None
        currency: str | None = None
        if amount is not None:
            amount_off = as_int(amount, "amount_off")
            if amount_off < 1:
                raise invalid("amount_off", "This value must be greater than or equal to 1.")
            if not p.get("currency"):
                raise missing("currency")
            currency = check_currency(p["currency"], "currency")
        duration = as_str(p.get("duration") or "once")
        months = None
        if duration == "repeating":
            if p.get("duration_in_months") in (None, ""):
                raise missing("duration_in_months")
            months = as_int(p["duration_in_months"], "duration_in_months")
            if months < 1:
                raise invalid("duration_in_months", "This value must be greater than 0.")
        elif p.get("duration_in_months") not in (None, ""):
            raise invalid(
                "duration_in_months",
                "duration_in_months can only be set when duration is 'repeating'.",
            )
        with self.lock:
            cid = as_str(p["id"]) if p.get("id") else objects.rand(8)
            if cid in self.coupons:
                raise StripeApiError(
                    400, "Coupon already exists.", code="resource_already_exists", param="id"
                )
            coupon: dict[str, Any] = {
                "amount_off": amount_off,
                "applies_to": None,
                "created": self.now(),
                "currency": currency,
                "currency_options": None,
                "duration": duration,
                "duration_in_months": months,
                "id": cid,
                "livemode": False,
                "max_redemptions": as_int(p["max_redemptions"], "max_redemptions")
                if p.get("max_redemptions")
                else None,
                "metadata": check_metadata(p.get("metadata")),
                "name": as_str(p["name"]) if p.get("name") else None,
                "object": "coupon",
                "percent_off": percent,
                "redeem_by": as_int(p["redeem_by"], "redeem_by") if p.get("redeem_by") else None,
                "times_redeemed": 0,
                "valid": True,
            }
            self.coupons[cid] = coupon
            self._save()
            return copy.deepcopy(coupon)

    def create_promotion_code(self, p: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/promotion_codes`` (``promotion[type]=coupon``, ``promotion[coupon]``,
        ``code``, ``active``, ``max_redemptions``, ``expires_at``,
        ``restrictions[minimum_amount|minimum_amount_currency|first_time_transaction]``)."""
        from .core import as_int, as_str, check_currency, check_metadata

        validate_params("POST /v1/promotion_codes", p)
        promotion = p["promotion"]
        if not promotion.get("coupon"):
            raise missing("promotion[coupon]")
        restrictions = dict(p.get("restrictions") or {})
        minimum = restrictions.get("minimum_amount")
        min_currency = restrictions.get("minimum_amount_currency")
        if (minimum is None) != (min_currency is None):
            raise invalid(
                "restrictions[minimum_amount_currency]",
                "minimum_amount and minimum_amount_currency must be passed together.",
            )
        with self.lock:
            coupon_id = as_str(promotion["coupon"])
            if coupon_id not in self.coupons:
                raise no_such("coupon", coupon_id, param="promotion[coupon]")
            code = as_str(p["code"]) if p.get("code") else objects.rand(8).upper()
            if not _CODE_RE.match(code):
                raise invalid("code", "Promotion codes can only contain letters and digits.")
            taken = any(
                pc["code"].lower() == code.lower() and pc["active"]
                for pc in self.promotion_codes.values()
            )
            if taken:
                raise StripeApiError(
                    400,
                    f"An active promotion code with `code: {code}` already exists.",
                    code="resource_already_exists",
                    param="code",
                )
            promo: dict[str, Any] = {
                "active": p.get("active", True) is True,
                "code": code,
                "created": self.now(),
                "customer": as_str(p["customer"]) if p.get("customer") else None,
                "customer_account": None,
                "expires_at": as_int(p["expires_at"], "expires_at")
                if p.get("expires_at")
                else None,
                "id": objects.new_id("promo"),
                "livemode": False,
                "max_redemptions": as_int(p["max_redemptions"], "max_redemptions")
                if p.get("max_redemptions")
                else None,
                "metadata": check_metadata(p.get("metadata")),
                "object": "promotion_code",
                "promotion": {"coupon": coupon_id, "type": "coupon"},
                "restrictions": {
                    "currency_options": {},
                    "first_time_transaction": restrictions.get("first_time_transaction") is True,
                    "minimum_amount": as_int(minimum, "restrictions[minimum_amount]")
                    if minimum is not None
                    else None,
                    "minimum_amount_currency": check_currency(
                        min_currency, "restrictions[minimum_amount_currency]"
                    )
                    if min_currency is not None
                    else None,
                },
                "times_redeemed": 0,
            }
            self.promotion_codes[promo["id"]] = promo
            self._save()
            return copy.deepcopy(promo)

    # --- applying a discount to a Checkout Session -----------------------------------

    def find_promotion_code(self, code: str) -> dict[str, Any] | None:
        """An active promotion code by its customer-facing code (case-insensitive)."""
        for promo in self.promotion_codes.values():
            if promo["code"].lower() == code.strip().lower() and promo["active"]:
                return promo
        return None

    def _redeemable(
        self,
        coupon: dict[str, Any],
        promo: dict[str, Any] | None,
        *,
        currency: str | None,
        subtotal: int,
        customer: str | None,
    ) -> str | None:
        """Why this coupon/promotion code cannot be applied now (None: it can)."""
        now = self.now()
        if not coupon["valid"] or (coupon["redeem_by"] and coupon["redeem_by"] < now):
            return "This coupon is no longer valid."
        if coupon["max_redemptions"] and coupon["times_redeemed"] >= coupon["max_redemptions"]:
            return "This coupon has reached its maximum number of redemptions."
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            return "This coupon's currency does not match the currency of the Checkout Session."
        if promo is None:
            return None
        if not promo["active"] or (promo["expires_at"] and promo["expires_at"] < now):
            return "This promotion code is no longer active."
        if promo["max_redemptions"] and promo["times_redeemed"] >= promo["max_redemptions"]:
            return "This promotion code has reached its maximum number of redemptions."
        if promo["customer"] and promo["customer"] != customer:
            return "This promotion code cannot be used by this customer."
        r = promo["restrictions"]
        if r["minimum_amount"] is not None and (
            r["minimum_amount_currency"] != currency or subtotal < r["minimum_amount"]
        ):
            return "This promotion code requires a higher order amount."
        return None

    def discount_amount(self, coupon: dict[str, Any], subtotal: int) -> int:
        if coupon["percent_off"] is not None:
            return min(subtotal, int(subtotal * coupon["percent_off"] / 100 + 0.5))
        return min(subtotal, int(coupon["amount_off"]))

    def price_session(
        self, session: dict[str, Any], items: list[dict[str, Any]], *, with_tax: bool
    ) -> None:
        """Recompute the line items' and the session's amounts from its discount (the
        coupon in ``session["discounts"]``) and, when the address is known, its tax."""
        subtotals = [int(i["amount_subtotal"]) for i in items]
        subtotal = sum(subtotals)
        discount = 0
        if session["discounts"]:
            coupon = self.coupons[session["discounts"][0]["coupon"]]
            discount = self.discount_amount(coupon, subtotal)
        item_discounts = spread(discount, subtotals)
        tax_total = 0
        for item, sub, disc in zip(items, subtotals, item_discounts, strict=True):
            tax = tax_amount(sub - disc) if with_tax else 0
            item.update(amount_discount=disc, amount_tax=tax, amount_total=sub - disc + tax)
            tax_total += tax
        session["amount_subtotal"] = subtotal
        session["amount_total"] = subtotal - discount + tax_total
        session["total_details"] = {
            "amount_discount": discount,
            "amount_shipping": 0,
            "amount_tax": tax_total,
        }

    def redeem(self, coupon_id: str, promo_id: str | None) -> None:
        self.coupons[coupon_id]["times_redeemed"] += 1
        if promo_id:
            self.promotion_codes[promo_id]["times_redeemed"] += 1

    def new_discount(
        self,
        *,
        coupon_id: str,
        promo_id: str | None,
        customer: str | None,
        session_id: str | None,
        subscription_id: str | None,
    ) -> dict[str, Any]:
        """A Discount object (stripe/_discount.py) for a subscription's coupon."""
        now = self.now()
        coupon = self.coupons[coupon_id]
        end = None
        if coupon["duration"] == "repeating":
            from .billing import add_months

            end = add_months(now, int(coupon["duration_in_months"]))
        d: dict[str, Any] = {
            "checkout_session": session_id,
            "customer": customer,
            "customer_account": None,
            "end": end,
            "id": objects.new_id("di"),
            "invoice": None,
            "invoice_item": None,
            "object": "discount",
            "promotion_code": promo_id,
            "source": {"coupon": coupon_id, "type": "coupon"},
            "start": now,
            "subscription": subscription_id,
            "subscription_item": None,
        }
        self.discounts[d["id"]] = d
        return d

    # --- receipts --------------------------------------------------------------------

    def send_receipt(self, charge: dict[str, Any], explicit_email: str | None) -> None:
        """Stripe e-mails a receipt for a succeeded charge to ``receipt_email`` when one was
        given (``payment_intent_data[receipt_email]``), and otherwise to the customer's
        e-mail when the account's "Successful payments" e-mail setting is on (the
        ``email_receipts`` knob). Sent receipts get a ``receipt_number`` and land in
        ``sb.receipts`` (the sandbox's outbox)."""
        email = explicit_email
        if email is None and self.knobs["email_receipts"]:
            email = charge["billing_details"]["email"]
            if charge["customer"] in self.customers:
                email = self.customers[charge["customer"]]["email"] or email
        if not email or charge["status"] != "succeeded":
            return
        number = f"{len(self.receipts) + 1000:04d}-{objects.rand(4).upper()}"
        charge["receipt_email"] = email
        charge["receipt_number"] = number
        self.receipts.append(
            {
                "to": email,
                "charge": charge["id"],
                "amount": charge["amount"],
                "currency": charge["currency"],
                "receipt_number": number,
                "receipt_url": charge["receipt_url"],
                "created": self.now(),
            }
        )

    def receipt_for(self, charge_id: str) -> dict[str, Any]:
        """Python API: the outbox entry for a charge (raises if no receipt was sent)."""
        with self.lock:
            for r in self.receipts:
                if r["charge"] == charge_id:
                    return copy.deepcopy(r)
        raise SandboxError(f"No receipt was sent for charge '{charge_id}'")
