"""Subscriptions, invoices, renewals and dunning, refunds and disputes, and the test clock.

Mixed into :class:`sandbox.stripe.core.StripeSandbox`. Everything time-based reads
``self.now()`` (the injected clock plus the test-clock offset that ``advance`` moves).
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import objects
from .checkout_page import format_amount
from .errors import SandboxError, StripeApiError, invalid, no_such, unknown_parameter
from .validation import validate_params

DAY = 86400

# Events the product does not act on; not emitted at all when ``emit_noise_events`` is off.
NOISE_EVENTS = frozenset(
    {
        "customer.created",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_succeeded",
    }
)
AFTER_FINAL_FAILURE = ("cancel", "unpaid", "past_due")
DISPUTE_REASONS = frozenset(
    "bank_cannot_process check_returned credit_not_processed customer_initiated "
    "debit_not_authorized duplicate fraudulent general incorrect_account_details "
    "insufficient_funds noncompliant product_not_received product_unacceptable "
    "subscription_canceled unrecognized".split()
)
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
SUBSCRIPTION_UPDATE_PARAMS = frozenset(
    {"cancel_at_period_end", "metadata", "items", "proration_behavior", "expand"}
)
LIVE_STATUSES = ("active", "past_due", "trialing")


def add_months(ts: int, months: int) -> int:
    """``ts`` plus ``months`` calendar months (UTC), day clamped to the month's length."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    year, month0 = divmod(d.month - 1 + months, 12)
    year += d.year
    day = min(d.day, calendar.monthrange(year, month0 + 1)[1])
    return int(d.replace(year=year, month=month0 + 1, day=day).timestamp())


def period_end_after(anchor: int, current_end: int, recurring: dict[str, Any]) -> int:
    """The next period boundary after ``current_end`` for a cycle anchored at ``anchor``."""
    interval = recurring["interval"]
    count = int(recurring.get("interval_count") or 1)
    if interval in ("day", "week"):
        step = count * (DAY if interval == "day" else 7 * DAY)
        return current_end + step
    months = count * (12 if interval == "year" else 1)
    k = 1
    while add_months(anchor, k * months) <= current_end:
        k += 1
    return add_months(anchor, k * months)


def _metadata_update(old: dict[str, str], raw: Any, checked: dict[str, str]) -> dict[str, str]:
    """Stripe merges metadata on update; ``""`` unsets a key; ``metadata=""`` clears all."""
    if raw in ("", None):
        return {}
    out = dict(old)
    for key, value in raw.items():
        if value == "":
            out.pop(key, None)
    out.update(checked)
    return out


class BillingMixin:
    """State and operations for the billing lifecycle (see ``docs/stripe-sandbox.md``)."""

    # provided by StripeSandbox
    lock: Any
    knobs: dict[str, Any]
    clock: Callable[[], float]
    clock_offset: float
    prices: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    payment_intents: dict[str, dict[str, Any]]
    charges: dict[str, dict[str, Any]]
    subscriptions: dict[str, dict[str, Any]]
    invoices: dict[str, dict[str, Any]]
    invoice_items: dict[str, dict[str, Any]]
    invoice_payments: dict[str, dict[str, Any]]
    refunds: dict[str, dict[str, Any]]
    disputes: dict[str, dict[str, Any]]
    dunning: dict[str, dict[str, Any]]
    failing_customers: dict[str, bool]
    events: list[dict[str, Any]]
    coupons: dict[str, dict[str, Any]]
    discounts: dict[str, dict[str, Any]]

    if TYPE_CHECKING:

        def now(self) -> int: ...

        @property
        def base_url(self) -> str: ...

        def _event(
            self,
            type: str,
            data_object: dict[str, Any],
            *,
            previous_attributes: dict[str, Any] | None = None,
            request_id: str | None = None,
            idempotency_key: str | None = None,
        ) -> dict[str, Any]: ...

        def _save(self) -> None: ...

        def deliver(self, event: dict[str, Any]) -> int: ...

        def _expire_locked(self, session: dict[str, Any]) -> dict[str, Any]: ...

        def send_receipt(self, charge: dict[str, Any], explicit_email: str | None) -> None: ...

        def discount_amount(self, coupon: dict[str, Any], subtotal: int) -> int: ...

        def new_discount(
            self,
            *,
            coupon_id: str,
            promo_id: str | None,
            customer: str | None,
            session_id: str | None,
            subscription_id: str | None,
        ) -> dict[str, Any]: ...

    # --- events --------------------------------------------------------------------------

    def _emit(
        self,
        out: list[dict[str, Any]],
        type: str,
        obj: dict[str, Any],
        previous_attributes: dict[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        if type in NOISE_EVENTS and not self.knobs["emit_noise_events"]:
            return
        ev = self._event(type, obj, previous_attributes=previous_attributes, **kw)
        self.events.append(ev)
        out.append(ev)

    def _deliver_all(self, events: list[dict[str, Any]], deliver: bool) -> None:
        if deliver:
            for ev in events:
                self.deliver(ev)

    # --- checkout (subscription mode) ----------------------------------------------------

    def _start_subscription(
        self,
        session: dict[str, Any],
        line_items: list[dict[str, Any]],
        sub_metadata: dict[str, str],
        customer_created: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """Create the Subscription, first Invoice, PaymentIntent and Charge for a completed
        subscription-mode session (lock held). Returns the events, in Stripe's order."""
        out: list[dict[str, Any]] = []
        now = self.now()
        cust = self.customers[session["customer"]]
        if customer_created is not None:
            self._emit(out, "customer.created", customer_created)
        pm_id = objects.new_id("pm")
        cust["invoice_settings"]["default_payment_method"] = pm_id
        cust["currency"] = cust["currency"] or session["currency"]
        sub = objects.subscription(
            now=now,
            customer=cust["id"],
            currency=session["currency"] or "usd",
            metadata=sub_metadata,
            default_payment_method=pm_id,
        )
        one_time: list[dict[str, Any]] = []
        for li in line_items:
            price = self.prices[li["price"]["id"]]
            if price["recurring"]:
                end = period_end_after(now, now, price["recurring"])
                sub["items"]["data"].append(
                    objects.subscription_item(
                        now=now,
                        subscription_id=sub["id"],
                        price_obj=copy.deepcopy(price),
                        quantity=li["quantity"],
                        period_start=now,
                        period_end=end,
                    )
                )
            else:
                one_time.append(li)
        self.subscriptions[sub["id"]] = sub
        if session["automatic_tax"]["enabled"]:
            sub["automatic_tax"] = {
                "disabled_reason": None,
                "enabled": True,
                "liability": {"type": "self"},
            }
        if session["discounts"]:
            applied = session["discounts"][0]
            di = self.new_discount(
                coupon_id=applied["coupon"],
                promo_id=applied["promotion_code"],
                customer=cust["id"],
                session_id=session["id"],
                subscription_id=sub["id"],
            )
            sub["discounts"] = [di["id"]]
        for li in one_time:  # one-time prices are billed on the first invoice only
            price = self.prices[li["price"]["id"]]
            ii = objects.invoice_item(
                now=now,
                customer=cust["id"],
                amount=li["amount_total"],
                currency=price["currency"],
                description=li["description"],
                price_obj=price,
                quantity=li["quantity"],
                period_start=now,
                period_end=now,
                subscription_id=sub["id"],
                subscription_item_id=None,
                proration=False,
            )
            self.invoice_items[ii["id"]] = ii
        end = sub["items"]["data"][0]["current_period_end"]
        inv = self._build_invoice(sub, "subscription_create", now, end)
        sub["latest_invoice"] = inv["id"]
        self._emit(out, "customer.subscription.created", sub)
        self._emit(out, "invoice.created", inv)
        self._finalize(inv)
        self._emit(out, "invoice.finalized", inv)
        self._attempt_payment(inv, force=True)
        self._emit(out, "invoice.paid", inv)
        self._emit(out, "invoice.payment_succeeded", inv)
        session["subscription"] = sub["id"]
        session["invoice"] = inv["id"]
        return out

    # --- invoices ------------------------------------------------------------------------

    def _build_invoice(
        self, sub: dict[str, Any], billing_reason: str, start: int, end: int
    ) -> dict[str, Any]:
        """A draft invoice for one period of ``sub`` plus its pending invoice items."""
        now = self.now()
        cust = self.customers[sub["customer"]]
        inv = objects.invoice(
            now=now,
            customer=cust,
            currency=sub["currency"],
            billing_reason=billing_reason,
            subscription_id=sub["id"],
            subscription_metadata=sub["metadata"],
            period_start=start,
            period_end=end,
        )
        lines = inv["lines"]["data"]
        for item in sub["items"]["data"]:
            price = item["price"]
            name = self.products.get(price["product"], {}).get("name", price["product"])
            unit = format_amount(price["unit_amount"], price["currency"])
            rec = price["recurring"]
            every = (
                rec["interval"]
                if rec["interval_count"] == 1
                else f"{rec['interval_count']} {rec['interval']}s"
            )
            lines.append(
                objects.invoice_line(
                    invoice_id=inv["id"],
                    amount=price["unit_amount"] * item["quantity"],
                    currency=price["currency"],
                    description=f"{item['quantity']} × {name} (at {unit} / {every})",  # noqa: RUF001
                    price_obj=price,
                    quantity=item["quantity"],
                    period_start=start,
                    period_end=end,
                    subscription_id=sub["id"],
                    subscription_item_id=item["id"],
                    metadata=sub["metadata"],
                )
            )
        for ii in self.invoice_items.values():
            if (
                ii["invoice"] is None
                and (ii["parent"]["subscription_details"] or {}).get("subscription") == sub["id"]
            ):
                ii["invoice"] = inv["id"]
                lines.append(
                    objects.invoice_line(
                        invoice_id=inv["id"],
                        amount=ii["amount"],
                        currency=ii["currency"],
                        description=ii["description"],
                        price_obj=self.prices[ii["pricing"]["price_details"]["price"]],
                        quantity=ii["quantity"],
                        period_start=ii["period"]["start"],
                        period_end=ii["period"]["end"],
                        subscription_id=sub["id"],
                        invoice_item_id=ii["id"],
                        proration=ii["proration"],
                    )
                )
        self._price_invoice(inv, sub, billing_reason)
        self.invoices[inv["id"]] = inv
        return inv

    def _price_invoice(self, inv: dict[str, Any], sub: dict[str, Any], billing_reason: str) -> None:
        """Totals: subtotal, the subscription's discount (coupon ``once``: first invoice only;
        ``repeating``: until the discount's ``end``; ``forever``), then automatic tax at the
        sandbox rate on the discounted amount (stripe/_invoice.py total_discount_amounts,
        total_taxes)."""
        from .pricing import spread, tax_amount

        lines = inv["lines"]["data"]
        subtotal = sum(line["amount"] for line in lines)
        discount = 0
        di = self.discounts.get(sub["discounts"][0]) if sub["discounts"] else None
        if di is not None:
            coupon = self.coupons[di["source"]["coupon"]]
            if coupon["duration"] == "once" and billing_reason != "subscription_create":
                sub["discounts"] = []  # a "once" coupon ends after the first invoice
                di = None
            elif di["end"] is not None and inv["period_start"] >= di["end"]:
                sub["discounts"] = []
                di = None
            else:
                discount = self.discount_amount(coupon, max(subtotal, 0))
        parts = spread(discount, [max(line["amount"], 0) for line in lines])
        if di is not None and discount:
            inv["discounts"] = [di["id"]]
            inv["total_discount_amounts"] = [{"amount": discount, "discount": di["id"]}]
            for line, part in zip(lines, parts, strict=True):
                line["discount_amounts"] = [{"amount": part, "discount": di["id"]}] if part else []
        taxable = subtotal - discount
        tax = 0
        if sub["automatic_tax"]["enabled"]:
            # per line, as Checkout computed it, so the first invoice matches the session
            tax = sum(
                tax_amount(max(line["amount"] - part, 0))
                for line, part in zip(lines, parts, strict=True)
            )
            inv["automatic_tax"].update(
                enabled=True, liability={"type": "self"}, provider="stripe", status="complete"
            )
            inv["total_taxes"] = [
                {
                    "amount": tax,
                    "tax_behavior": "exclusive",
                    "tax_rate_details": {"tax_rate": "txr_sandbox_standard"},
                    "taxability_reason": "standard_rated",
                    "taxable_amount": max(taxable, 0),
                    "type": "tax_rate_details",
                }
            ]
        inv["subtotal"] = inv["subtotal_excluding_tax"] = subtotal
        inv["total_excluding_tax"] = taxable
        inv["total"] = taxable + tax
        inv["amount_due"] = inv["amount_remaining"] = max(taxable + tax, 0)

    def _finalize(self, inv: dict[str, Any]) -> None:
        now = self.now()
        cust = self.customers[inv["customer"]]
        seq = cust["next_invoice_sequence"]
        cust["next_invoice_sequence"] = seq + 1
        inv["number"] = f"{cust['invoice_prefix']}-{seq:04d}"
        inv["status"] = "open"
        inv["effective_at"] = now
        inv["status_transitions"]["finalized_at"] = now

    def _mark_paid(self, inv: dict[str, Any]) -> None:
        now = self.now()
        inv["status"] = "paid"
        inv["amount_paid"] = inv["amount_due"]
        inv["amount_remaining"] = 0
        inv["next_payment_attempt"] = None
        inv["status_transitions"]["paid_at"] = now
        self.dunning.pop(inv["id"], None)

    def _attempt_payment(self, inv: dict[str, Any], *, force: bool = False) -> bool:
        """Charge the customer's card for ``inv``; ``force`` ignores ``payment_failing``.

        One PaymentIntent per invoice (reused by retries); every attempt adds a Charge.
        """
        now = self.now()
        cust = self.customers[inv["customer"]]
        sub_id = (inv["parent"] or {}).get("subscription_details", {}).get("subscription")
        sub = self.subscriptions.get(sub_id or "")
        # No metadata on the invoice's PaymentIntent and Charge: Stripe does not copy the
        # subscription's (or invoice's) metadata onto them (Stripe staff, stripe/stripe-node#644).
        # Tie a charge to its subscription through invoice payments instead.
        pm_id = (sub or {}).get("default_payment_method") or cust["invoice_settings"][
            "default_payment_method"
        ]
        pm_id = pm_id or objects.new_id("pm")
        inv["attempt_count"] += 1
        inv["attempted"] = True
        if inv["amount_due"] == 0:
            self._mark_paid(inv)
            return True
        payments = self.payments_of_invoice(inv["id"])
        if payments:
            pi = self.payment_intents[payments[0]["payment"]["payment_intent"]]
        else:
            pi = objects.payment_intent(
                now=now,
                amount=inv["amount_due"],
                currency=inv["currency"],
                customer=cust["id"],
                metadata={},
                description="Subscription creation"
                if inv["billing_reason"] == "subscription_create"
                else "Subscription update",
            )
            pi["payment_method"] = pm_id
            pi["setup_future_usage"] = "off_session"
            self.payment_intents[pi["id"]] = pi
            inpay = objects.invoice_payment(
                now=now,
                invoice_id=inv["id"],
                amount=inv["amount_due"],
                currency=inv["currency"],
                payment_intent_id=pi["id"],
            )
            self.invoice_payments[inpay["id"]] = inpay
            payments.append(inpay)
        ch = objects.charge(
            now=now,
            amount=inv["amount_due"],
            currency=inv["currency"],
            customer=cust["id"],
            payment_intent_id=pi["id"],
            payment_method_id=pm_id,
            email=cust["email"],
            name=cust["name"],
            metadata={},
            receipt_base_url=self.base_url,
        )
        ch["description"] = pi["description"]
        self.charges[ch["id"]] = ch
        ok = not (self.failing_customers.get(cust["id"], False) and not force)
        if ok:
            self.send_receipt(ch, None)
        pi["latest_charge"] = ch["id"]
        failing = self.failing_customers.get(cust["id"], False) and not force
        if not failing:
            pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None)
            payments[0]["status"] = "paid"
            payments[0]["amount_paid"] = inv["amount_due"]
            payments[0]["status_transitions"]["paid_at"] = now
            self._mark_paid(inv)
            return True
        ch.update(
            status="failed",
            paid=False,
            captured=False,
            amount_captured=0,
            failure_code="card_declined",
            failure_message="Your card was declined.",
            receipt_url=None,
        )
        ch["outcome"].update(
            network_status="declined_by_network",
            reason="generic_decline",
            risk_score=20,
            seller_message="The bank did not return any further details with this decline.",
            type="issuer_declined",
        )
        pi.update(
            status="requires_payment_method",
            amount_received=0,
            last_payment_error={
                "charge": ch["id"],
                "code": "card_declined",
                "decline_code": "generic_decline",
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": "Your card was declined.",
                "payment_method": {"id": pm_id, "object": "payment_method", "type": "card"},
                "type": "card_error",
            },
        )
        return False

    def payments_of_invoice(self, invoice_id: str) -> list[dict[str, Any]]:
        """The invoice's InvoicePayments, oldest first (the invoice object does not carry
        them: ``invoice.payments`` is includable, returned only when expanded)."""
        return [p for p in self.invoice_payments.values() if p["invoice"] == invoice_id]

    # --- renewals and dunning ------------------------------------------------------------

    def _sub_of(self, inv: dict[str, Any]) -> dict[str, Any] | None:
        details = (inv["parent"] or {}).get("subscription_details") or {}
        return self.subscriptions.get(details.get("subscription") or "")

    def _open_invoice(self, sub: dict[str, Any]) -> dict[str, Any] | None:
        for inv in self.invoices.values():
            if inv["status"] == "open" and self._sub_of(inv) is sub:
                return inv
        return None

    def _advance_period(self, sub: dict[str, Any], start: int, end: int) -> None:
        for item in sub["items"]["data"]:
            item["current_period_start"] = start
            item["current_period_end"] = end

    def _renew(self, sub: dict[str, Any], out: list[dict[str, Any]]) -> None:
        old = copy.deepcopy(sub)
        start = sub["items"]["data"][0]["current_period_end"]
        end = period_end_after(
            sub["billing_cycle_anchor"], start, sub["items"]["data"][0]["price"]["recurring"]
        )
        inv = self._build_invoice(sub, "subscription_cycle", start, end)
        sub["latest_invoice"] = inv["id"]
        self._emit(out, "invoice.created", inv)
        self._finalize(inv)
        self._emit(out, "invoice.finalized", inv)
        self._settle_attempt(inv, sub, old, out, first=True)

    def _settle_attempt(
        self,
        inv: dict[str, Any],
        sub: dict[str, Any] | None,
        old_sub: dict[str, Any] | None,
        out: list[dict[str, Any]],
        *,
        first: bool = False,
        force: bool = False,
        manual: bool = False,
    ) -> bool:
        """Attempt payment of ``inv``; emit the invoice and subscription events.

        ``first``: the renewal's own attempt (starts dunning); ``manual``: an API ``pay``
        call (a failure neither consumes nor moves the automatic retry schedule); otherwise a
        scheduled retry."""
        if self._attempt_payment(inv, force=force):
            self._emit(out, "invoice.paid", inv)
            self._emit(out, "invoice.payment_succeeded", inv)
            if sub is not None and old_sub is not None:
                self._after_paid(inv, sub, old_sub, out)
            return True
        if manual and not first:
            self._emit(out, "invoice.payment_failed", inv)
            return False
        now = self.now()
        schedule = [float(d) for d in self.knobs["retry_schedule_days"]]
        if first:
            self.dunning[inv["id"]] = {"first_failed_at": now, "retries_done": 0}
        else:
            self.dunning.setdefault(inv["id"], {"first_failed_at": now, "retries_done": 0})
            self.dunning[inv["id"]]["retries_done"] += 1
        state = self.dunning[inv["id"]]
        final = state["retries_done"] >= len(schedule)
        inv["next_payment_attempt"] = (
            None if final else int(state["first_failed_at"] + schedule[state["retries_done"]] * DAY)
        )
        self._emit(out, "invoice.payment_failed", inv)
        if sub is None or old_sub is None or sub["status"] == "canceled":
            return False
        prev: dict[str, Any] = {}
        if sub["status"] != "past_due" and sub["status"] != "unpaid":
            sub["status"] = "past_due"
            prev["status"] = old_sub["status"]
        if final:
            self.dunning.pop(inv["id"], None)
            action = self.knobs["after_final_failure"]
            if action == "cancel":
                self._cancel_now(sub, out, reason="payment_failed")
                return False
            if action == "unpaid" and sub["status"] != "unpaid":
                prev.setdefault("status", sub["status"])
                sub["status"] = "unpaid"
        if old_sub["latest_invoice"] != sub["latest_invoice"]:
            prev["latest_invoice"] = old_sub["latest_invoice"]
        if prev:
            self._emit(out, "customer.subscription.updated", sub, prev)
        return False

    def _after_paid(
        self,
        inv: dict[str, Any],
        sub: dict[str, Any],
        old_sub: dict[str, Any],
        out: list[dict[str, Any]],
    ) -> None:
        if sub["status"] == "canceled":
            return
        prev: dict[str, Any] = {}
        if inv["billing_reason"] == "subscription_cycle" and (
            sub["items"]["data"][0]["current_period_end"] < inv["period_end"]
        ):
            prev["items"] = copy.deepcopy(old_sub["items"])
            self._advance_period(sub, inv["period_start"], inv["period_end"])
        if sub["status"] != "active":
            prev["status"] = old_sub["status"]
            sub["status"] = "active"
        if old_sub["latest_invoice"] != sub["latest_invoice"]:
            prev["latest_invoice"] = old_sub["latest_invoice"]
        if prev:
            self._emit(out, "customer.subscription.updated", sub, prev)

    def _cancel_now(
        self,
        sub: dict[str, Any],
        out: list[dict[str, Any]],
        *,
        reason: str,
        ended_at: int | None = None,
        **kw: Any,
    ) -> None:
        now = self.now()
        sub["status"] = "canceled"
        sub["ended_at"] = ended_at if ended_at is not None else now
        sub["canceled_at"] = sub["canceled_at"] or now
        sub["cancellation_details"]["reason"] = reason
        for inv in self.invoices.values():  # no more automatic retries
            if inv["status"] == "open" and self._sub_of(inv) is sub:
                inv["next_payment_attempt"] = None
                self.dunning.pop(inv["id"], None)
        self._emit(out, "customer.subscription.deleted", sub, **kw)

    def _next_due(self, limit: int) -> tuple[int, str, str] | None:
        """The earliest scheduled action at or before ``limit``: (time, kind, id)."""
        best: tuple[int, int, str, str] | None = None

        def consider(t: int | None, rank: int, kind: str, oid: str) -> None:
            nonlocal best
            if t is not None and t <= limit and (best is None or (t, rank) < best[:2]):
                best = (t, rank, kind, oid)

        for s in self.sessions.values():
            if s["status"] == "open":
                consider(s["expires_at"], 0, "expire", s["id"])
        for inv in self.invoices.values():
            if inv["status"] == "open" and inv["next_payment_attempt"] is not None:
                consider(inv["next_payment_attempt"], 1, "retry", inv["id"])
        for sub in self.subscriptions.values():
            if sub["status"] not in LIVE_STATUSES or not sub["items"]["data"]:
                continue
            end = sub["items"]["data"][0]["current_period_end"]
            if sub["cancel_at_period_end"]:
                consider(end, 2, "end", sub["id"])
            elif self._open_invoice(sub) is None:
                consider(end, 3, "renew", sub["id"])
        return None if best is None else (best[0], best[2], best[3])

    def _set_now(self, ts: float) -> None:
        self.clock_offset = ts - self.clock() + 1e-6

    # --- public Python API: test clock -------------------------------------------------

    def advance(self, seconds: float, *, deliver: bool = True) -> list[dict[str, Any]]:
        """Move the sandbox's time forward by ``seconds`` and run everything that falls due
        (session expiry, renewals, payment retries, period-end cancellations), in time order.

        Each step's events are delivered (unless ``deliver=False``) before the next step
        runs, with the sandbox clock at that step's time. Returns all events emitted.
        """
        if seconds < 0:
            raise ValueError("the test clock only moves forward")
        with self.lock:
            target = self.clock() + self.clock_offset + seconds
        return self.advance_to(target, deliver=deliver)

    def advance_to(self, timestamp: float, *, deliver: bool = True) -> list[dict[str, Any]]:
        """Like :meth:`advance`, up to the Unix time ``timestamp``."""
        emitted: list[dict[str, Any]] = []
        with self.lock:
            if timestamp < self.clock() + self.clock_offset - 1:
                raise ValueError("the test clock only moves forward")
        while True:
            step: list[dict[str, Any]] = []
            with self.lock:
                due = self._next_due(int(timestamp))
                if due is None:
                    self._set_now(max(timestamp, self.clock() + self.clock_offset))
                    self._save()
                    break
                t, kind, oid = due
                if t > self.now():
                    self._set_now(t)
                if kind == "expire":
                    step.append(self._expire_locked(self.sessions[oid]))
                elif kind == "retry":
                    inv = self.invoices[oid]
                    sub = self._sub_of(inv)
                    self._settle_attempt(inv, sub, copy.deepcopy(sub), step)
                elif kind == "end":
                    sub = self.subscriptions[oid]
                    self._cancel_now(
                        sub,
                        step,
                        reason="cancellation_requested",
                        ended_at=sub["items"]["data"][0]["current_period_end"],
                    )
                else:
                    self._renew(self.subscriptions[oid], step)
                self._save()
            self._deliver_all(step, deliver)
            emitted.extend(step)
        return emitted

    def set_payment_failing(self, customer_id: str, failing: bool = True) -> None:
        """While set, every payment attempt for the customer's invoices is declined."""
        with self.lock:
            if customer_id not in self.customers:
                raise SandboxError(f"No such customer: '{customer_id}'")
            if failing:
                self.failing_customers[customer_id] = True
            else:
                self.failing_customers.pop(customer_id, None)
            self._save()

    def pay_invoice(self, invoice_id: str, *, deliver: bool = True) -> list[dict[str, Any]]:
        """The customer fixed their card and paid: clears ``payment_failing`` for them, pays
        the open invoice, reactivates the subscription (advancing the period for a renewal).
        Returns the events (``invoice.paid``, ``invoice.payment_succeeded``,
        ``customer.subscription.updated``)."""
        with self.lock:
            inv = self.invoices.get(invoice_id)
            if inv is None:
                raise SandboxError(f"No such invoice: '{invoice_id}'")
            if inv["status"] != "open":
                raise SandboxError(f"Invoice {invoice_id} is {inv['status']}, not open")
            self.failing_customers.pop(inv["customer"], None)
            sub = self._sub_of(inv)
            out: list[dict[str, Any]] = []
            self._settle_attempt(inv, sub, copy.deepcopy(sub), out, force=True)
            self._save()
        self._deliver_all(out, deliver)
        return out

    # --- public Python API: disputes -----------------------------------------------------

    def create_dispute(
        self,
        charge_id: str,
        *,
        reason: str = "fraudulent",
        amount: int | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """Open a chargeback on a succeeded charge (status ``needs_response``). Emits
        ``charge.dispute.created`` and ``charge.dispute.funds_withdrawn``."""
        if reason not in DISPUTE_REASONS:
            raise ValueError(f"unknown dispute reason {reason!r}")
        out: list[dict[str, Any]] = []
        with self.lock:
            ch = self.charges.get(charge_id)
            if ch is None:
                raise SandboxError(f"No such charge: '{charge_id}'")
            if ch["status"] != "succeeded":
                raise SandboxError(f"Charge {charge_id} is {ch['status']}; cannot dispute it")
            if ch["disputed"]:
                raise SandboxError(f"Charge {charge_id} is already disputed")
            now = self.now()
            dp = objects.dispute(now=now, charge_obj=ch, reason=reason, due_by=now + 7 * DAY)
            if amount is not None:
                dp["amount"] = int(amount)
            ch["disputed"] = True
            self.disputes[dp["id"]] = dp
            self._emit(out, "charge.dispute.created", dp)
            self._emit(out, "charge.dispute.funds_withdrawn", dp)
            self._save()
            result = copy.deepcopy(dp)
        self._deliver_all(out, deliver)
        return result

    def close_dispute(
        self, dispute_id: str, status: str = "won", *, deliver: bool = True
    ) -> dict[str, Any]:
        """Close a dispute as ``won`` or ``lost``. Emits ``charge.dispute.closed`` (then
        ``charge.dispute.funds_reinstated`` when won)."""
        events, dp = self._close_dispute(dispute_id, status)
        self._deliver_all(events, deliver)
        return dp

    def _close_dispute(
        self, dispute_id: str, status: str, **kw: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if status not in ("won", "lost"):
            raise ValueError("status must be 'won' or 'lost'")
        out: list[dict[str, Any]] = []
        with self.lock:
            dp = self.disputes.get(dispute_id)
            if dp is None:
                raise SandboxError(f"No such dispute: '{dispute_id}'")
            if dp["status"] in ("won", "lost", "warning_closed"):
                raise SandboxError("This dispute is already closed.")
            dp["status"] = status
            self._emit(out, "charge.dispute.closed", dp, **kw)
            if status == "won":
                self._emit(out, "charge.dispute.funds_reinstated", dp)
            self._save()
            return out, copy.deepcopy(dp)

    # --- API operations (raise StripeApiError) -------------------------------------------

    def api_update_subscription(
        self, sub_id: str, p: dict[str, Any], *, request_id: str | None, idem: str | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from .core import as_int, as_str, check_metadata

        validate_params("POST /v1/subscriptions/{id}", p)  # Stripe's names, enums, booleans
        for key in p:  # ... of which the sandbox implements these
            if key not in SUBSCRIPTION_UPDATE_PARAMS:
                raise unknown_parameter(key)
        out: list[dict[str, Any]] = []
        with self.lock:
            sub = self.subscriptions.get(sub_id)
            if sub is None:
                raise no_such("subscription", sub_id)
            if sub["status"] == "canceled" and set(p) - {"metadata", "expand"}:
                raise StripeApiError(
                    400,
                    "A canceled subscription can only update its cancellation_details and "
                    "metadata.",
                )
            old = copy.deepcopy(sub)
            prev: dict[str, Any] = {}
            now = self.now()
            if "metadata" in p:
                checked = check_metadata(p["metadata"])
                sub["metadata"] = _metadata_update(sub["metadata"], p["metadata"], checked)
            proration = as_str(p.get("proration_behavior", "create_prorations"))
            if proration not in ("create_prorations", "none", "always_invoice"):
                raise invalid(
                    "proration_behavior",
                    "Invalid proration_behavior: must be one of always_invoice, "
                    "create_prorations, or none",
                )
            if "items" in p:
                self._update_items(sub, p["items"], proration, now, as_int, as_str)
            if "cancel_at_period_end" in p:
                flag = p["cancel_at_period_end"]
                if not isinstance(flag, bool):
                    raise invalid("cancel_at_period_end", "Invalid boolean: must be true or false")
                if flag != sub["cancel_at_period_end"]:
                    sub["cancel_at_period_end"] = flag
                    end = sub["items"]["data"][0]["current_period_end"]
                    sub["cancel_at"] = end if flag else None
                    sub["canceled_at"] = now if flag else None
                    sub["cancellation_details"]["reason"] = (
                        "cancellation_requested" if flag else None
                    )
            for key in ("metadata", "items", "cancel_at_period_end", "cancel_at", "canceled_at"):
                if old[key] != sub[key]:
                    prev[key] = old[key]
            if old["cancellation_details"] != sub["cancellation_details"]:
                prev["cancellation_details"] = old["cancellation_details"]
            if prev:
                self._emit(
                    out,
                    "customer.subscription.updated",
                    sub,
                    prev,
                    request_id=request_id,
                    idempotency_key=idem,
                )
            self._save()
            return copy.deepcopy(sub), out

    def _update_items(
        self,
        sub: dict[str, Any],
        raw: Any,
        proration: str,
        now: int,
        as_int: Callable[[Any, str], int],
        as_str: Callable[[Any], str],
    ) -> None:
        if not isinstance(raw, list):
            raise invalid("items", "Invalid array")
        by_id = {i["id"]: i for i in sub["items"]["data"]}
        for n, entry in enumerate(raw):
            param = f"items[{n}]"
            if not isinstance(entry, dict):
                raise invalid(param, "Invalid object")
            for key in entry:
                if key not in ("id", "price", "quantity"):
                    raise unknown_parameter(f"{param}[{key}]")
            if not entry.get("id"):
                raise invalid(
                    f"{param}[id]",
                    "The Stripe sandbox only changes existing items: pass "
                    f"{param}[id] (adding or deleting items is not implemented).",
                )
            item = by_id.get(as_str(entry["id"]))
            if item is None:
                raise no_such("subscription_item", as_str(entry["id"]), param=f"{param}[id]")
            old_price, old_qty = item["price"], item["quantity"]
            new_price = old_price
            if entry.get("price"):
                pid = as_str(entry["price"])
                found = self.prices.get(pid)
                if found is None:
                    raise no_such("price", pid, param=f"{param}[price]")
                if not found["recurring"]:
                    raise invalid(
                        f"{param}[price]",
                        f"The price specified ({pid}) is not a recurring price; subscription "
                        "items require recurring prices.",
                    )
                if found["currency"] != sub["currency"]:
                    raise invalid(
                        f"{param}[price]",
                        "The price specified does not match the subscription's currency.",
                    )
                rec, old_rec = found["recurring"], old_price["recurring"]
                if (rec["interval"], rec["interval_count"]) != (
                    old_rec["interval"],
                    old_rec["interval_count"],
                ):
                    raise invalid(
                        f"{param}[price]",
                        "The Stripe sandbox does not change billing intervals: the new price "
                        "must have the same recurring interval and interval_count.",
                    )
                new_price = copy.deepcopy(found)
            qty = old_qty
            if entry.get("quantity") not in (None, ""):
                qty = as_int(entry["quantity"], f"{param}[quantity]")
                if qty < 1:
                    raise invalid(
                        f"{param}[quantity]", "This value must be greater than or equal to 1."
                    )
            if new_price["id"] == old_price["id"] and qty == old_qty:
                continue
            item["price"] = new_price
            item["plan"] = objects.plan_from_price(new_price)
            item["quantity"] = qty
            start, end = item["current_period_start"], item["current_period_end"]
            if proration != "none" and end > now > start:
                self._prorate(sub, item, old_price, old_qty, new_price, qty, now, start, end)

    def _prorate(
        self,
        sub: dict[str, Any],
        item: dict[str, Any],
        old_price: dict[str, Any],
        old_qty: int,
        new_price: dict[str, Any],
        qty: int,
        now: int,
        start: int,
        end: int,
    ) -> None:
        """Two pending invoice items (credit for unused time, charge for remaining time),
        billed on the subscription's next invoice."""
        fraction = (end - now) / (end - start)
        when = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%d %b %Y")
        for price, quantity, sign, label in (
            (old_price, old_qty, -1, "Unused time on"),
            (new_price, qty, 1, "Remaining time on"),
        ):
            name = self.products.get(price["product"], {}).get("name", price["product"])
            ii = objects.invoice_item(
                now=now,
                customer=sub["customer"],
                amount=sign * round(price["unit_amount"] * quantity * fraction),
                currency=price["currency"],
                description=f"{label} {quantity} × {name} after {when}",  # noqa: RUF001
                price_obj=price,
                quantity=quantity,
                period_start=now,
                period_end=end,
                subscription_id=sub["id"],
                subscription_item_id=item["id"],
                proration=True,
            )
            self.invoice_items[ii["id"]] = ii

    def api_invoice_preview(self, p: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/invoices/create_preview`` for a subscription change (Stripe API, "Create
        a preview invoice"; stripe/_invoice_service.py create_preview in the SDK): the
        subscription's next invoice as it would be with ``subscription_details[items]``
        applied, prorations included. Nothing is stored and nothing is charged. Only the
        subscription form is implemented; ``customer`` must be the subscription's."""
        from .core import as_int, as_str

        for key in p:
            if key not in ("customer", "subscription", "subscription_details", "expand"):
                raise unknown_parameter(key)
        sub_id = as_str(p.get("subscription") or "")
        if not sub_id:
            raise invalid(
                "subscription",
                "The Stripe sandbox previews subscription invoices only: pass subscription.",
            )
        details = p.get("subscription_details") or {}
        if not isinstance(details, dict):
            raise invalid("subscription_details", "Invalid object")
        for key in details:
            if key not in ("items", "proration_behavior", "proration_date"):
                raise unknown_parameter(f"subscription_details[{key}]")
        proration = as_str(details.get("proration_behavior", "create_prorations"))
        if proration not in ("create_prorations", "none", "always_invoice"):
            raise invalid(
                "subscription_details[proration_behavior]",
                "Invalid proration_behavior: must be one of always_invoice, create_prorations, "
                "or none",
            )
        with self.lock:
            sub = self.subscriptions.get(sub_id)
            if sub is None:
                raise no_such("subscription", sub_id, param="subscription")
            if p.get("customer") and as_str(p["customer"]) != sub["customer"]:
                raise invalid(
                    "customer",
                    f"The subscription {sub_id} does not belong to the customer "
                    f"{as_str(p['customer'])}.",
                )
            if sub["status"] in ("canceled", "incomplete_expired"):
                raise StripeApiError(
                    400,
                    "You can't preview the upcoming invoice for a canceled subscription.",
                    param="subscription",
                )
            now = self.now()
            if details.get("proration_date") not in (None, ""):
                now = as_int(details["proration_date"], "subscription_details[proration_date]")
            draft = copy.deepcopy(sub)
            items_before = set(self.invoice_items)
            invoices_before = set(self.invoices)
            pending_before = {k: ii["invoice"] for k, ii in self.invoice_items.items()}
            try:
                if "items" in details:
                    self._update_items(draft, details["items"], proration, now, as_int, as_str)
                item = draft["items"]["data"][0]
                start, end = item["current_period_start"], item["current_period_end"]
                preview = self._build_invoice(draft, "upcoming", end, end + (end - start))
            finally:
                # Leave the account exactly as it was.
                for key in set(self.invoice_items) - items_before:
                    del self.invoice_items[key]
                for key in set(self.invoices) - invoices_before:
                    del self.invoices[key]
                for key, invoice_id in pending_before.items():
                    self.invoice_items[key]["invoice"] = invoice_id
            return copy.deepcopy(preview)

    def api_cancel_subscription(
        self, sub_id: str, p: dict[str, Any], *, request_id: str | None, idem: str | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        validate_params("DELETE /v1/subscriptions/{id}", p)
        out: list[dict[str, Any]] = []
        with self.lock:
            sub = self.subscriptions.get(sub_id)
            if sub is None:
                raise no_such("subscription", sub_id)
            if sub["status"] == "canceled":
                raise StripeApiError(
                    400,
                    f"A canceled subscription can't be canceled again: '{sub_id}'.",
                    code="resource_missing",
                )
            details = p.get("cancellation_details")
            if isinstance(details, dict):
                for key in ("comment", "feedback"):
                    if key in details:
                        sub["cancellation_details"][key] = details[key] or None
            self._cancel_now(
                sub,
                out,
                reason="cancellation_requested",
                request_id=request_id,
                idempotency_key=idem,
            )
            self._save()
            return copy.deepcopy(sub), out

    def api_pay_invoice(
        self, inv_id: str, p: dict[str, Any], *, request_id: str | None, idem: str | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], StripeApiError | None]:
        """``POST /v1/invoices/{id}/pay``: honours ``payment_failing`` (402 card_declined)."""
        validate_params("POST /v1/invoices/{id}/pay", p)
        for key in p:
            if key not in ("expand", "paid_out_of_band", "forgive", "off_session"):
                raise unknown_parameter(key)
        out: list[dict[str, Any]] = []
        with self.lock:
            inv = self.invoices.get(inv_id)
            if inv is None:
                raise no_such("invoice", inv_id)
            if inv["status"] == "paid":
                raise StripeApiError(400, "Invoice is already paid")
            if inv["status"] != "open":
                raise StripeApiError(
                    400, f"You can only pay an open invoice. This invoice is {inv['status']}."
                )
            sub = self._sub_of(inv)
            old_sub = copy.deepcopy(sub)
            if p.get("paid_out_of_band") is True:
                self._mark_paid(inv)
                self._emit(out, "invoice.paid", inv, request_id=request_id)
                if sub is not None and old_sub is not None:
                    self._after_paid(inv, sub, old_sub, out)
                ok = True
            else:
                ok = self._settle_attempt(inv, sub, old_sub, out, manual=True)
            self._save()
            result = copy.deepcopy(inv)
        if ok:
            return result, out, None
        ch = self.charges[
            self.payment_intents[self.payments_of_invoice(inv_id)[0]["payment"]["payment_intent"]][
                "latest_charge"
            ]
        ]
        err = StripeApiError(
            402, "Your card was declined.", type="card_error", code="card_declined"
        )
        err.extra = {"decline_code": "generic_decline", "charge": ch["id"]}
        return result, out, err

    def api_create_refund(
        self, p: dict[str, Any], *, request_id: str | None, idem: str | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from .core import as_int, as_str, check_metadata

        validate_params("POST /v1/refunds", p)
        for key in p:
            if key not in ("charge", "payment_intent", "amount", "reason", "metadata", "expand"):
                raise unknown_parameter(key)
        out: list[dict[str, Any]] = []
        with self.lock:
            if p.get("charge"):
                cid = as_str(p["charge"])
                ch = self.charges.get(cid)
                if ch is None:
                    raise no_such("charge", cid, param="charge")
                if p.get("payment_intent") and as_str(p["payment_intent"]) != ch["payment_intent"]:
                    raise invalid(
                        "payment_intent",
                        "The charge and payment_intent parameters do not refer to the same "
                        "payment.",
                    )
            elif p.get("payment_intent"):
                pid = as_str(p["payment_intent"])
                pi = self.payment_intents.get(pid)
                if pi is None:
                    raise no_such("payment_intent", pid, param="payment_intent")
                latest = self.charges.get(pi["latest_charge"] or "")
                if pi["status"] != "succeeded" or latest is None:
                    raise StripeApiError(
                        400,
                        f"This PaymentIntent ({pid}) does not have a successful charge to refund.",
                        code="charge_not_refundable",
                        param="payment_intent",
                    )
                ch = latest
            else:
                raise StripeApiError(
                    400,
                    "One of the following params should be provided for this request: "
                    "payment_intent or charge.",
                )
            if ch["status"] != "succeeded":
                raise StripeApiError(
                    400, f"Charge {ch['id']} has not succeeded; it cannot be refunded."
                )
            if ch["disputed"]:
                raise StripeApiError(
                    400,
                    f"Charge {ch['id']} has been charged back; cannot issue a refund.",
                    code="charge_disputed",
                )
            remaining = ch["amount"] - ch["amount_refunded"]
            if remaining <= 0:
                raise StripeApiError(
                    400,
                    f"Charge {ch['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = remaining
            if p.get("amount") not in (None, ""):
                amount = as_int(p["amount"], "amount")
                if amount < 1:
                    raise invalid("amount", "This value must be greater than or equal to 1.")
                if amount > remaining:
                    raise invalid(
                        "amount",
                        f"Refund amount ({format_amount(amount, ch['currency'])}) is greater "
                        f"than unrefunded amount on charge "
                        f"({format_amount(remaining, ch['currency'])})",
                    )
            reason = as_str(p["reason"]) if p.get("reason") else None
            if reason is not None and reason not in REFUND_REASONS:
                raise invalid(
                    "reason",
                    "Invalid reason: must be one of duplicate, fraudulent, or "
                    "requested_by_customer",
                )
            re_obj = objects.refund(
                now=self.now(),
                amount=amount,
                charge_obj=ch,
                reason=reason,
                metadata=check_metadata(p.get("metadata")),
            )
            self.refunds[re_obj["id"]] = re_obj
            prev: dict[str, Any] = {"amount_refunded": ch["amount_refunded"]}
            ch["amount_refunded"] += amount
            if ch["amount_refunded"] == ch["amount"]:
                ch["refunded"] = True
                prev["refunded"] = False
            self._emit(
                out, "charge.refunded", ch, prev, request_id=request_id, idempotency_key=idem
            )
            self._emit(out, "refund.created", re_obj, request_id=request_id, idempotency_key=idem)
            self._save()
            return copy.deepcopy(re_obj), out

    def api_close_dispute(
        self, dispute_id: str, p: dict[str, Any], *, request_id: str | None, idem: str | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        for key in p:
            if key != "expand":
                raise unknown_parameter(key)
        with self.lock:
            if dispute_id not in self.disputes:
                raise no_such("dispute", dispute_id)
            try:
                events, dp = self._close_dispute(
                    dispute_id, "lost", request_id=request_id, idempotency_key=idem
                )
            except SandboxError as exc:
                raise StripeApiError(400, str(exc)) from exc
        return dp, events

    # --- lists -----------------------------------------------------------------------------

    def list_subscriptions(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            out = copy.deepcopy(list(reversed(self.subscriptions.values())))
        status = filters.get("status")
        if status is None:
            out = [s for s in out if s["status"] != "canceled"]
        elif status == "ended":
            out = [s for s in out if s["status"] in ("canceled", "incomplete_expired")]
        elif status != "all":
            out = [s for s in out if s["status"] == status]
        if filters.get("customer"):
            out = [s for s in out if s["customer"] == filters["customer"]]
        if filters.get("price"):
            out = [
                s
                for s in out
                if any(i["price"]["id"] == filters["price"] for i in s["items"]["data"])
            ]
        return out

    def list_invoices(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            out = copy.deepcopy(list(reversed(self.invoices.values())))
        if filters.get("customer"):
            out = [i for i in out if i["customer"] == filters["customer"]]
        if filters.get("status"):
            out = [i for i in out if i["status"] == filters["status"]]
        if filters.get("subscription"):
            out = [
                i
                for i in out
                if ((i["parent"] or {}).get("subscription_details") or {}).get("subscription")
                == filters["subscription"]
            ]
        return out
