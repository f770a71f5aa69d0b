"""Factories for Stripe objects.

Every factory returns a plain dict with *all* the fields of the matching example object in
Stripe's published API fixtures (``openapi/fixtures3.json`` in the public repository
stripe/openapi, MIT licence, Copyright (c) Stripe; copies in ``tests/sandbox_stripe/shapes/``),
except the *includable* fields (``charge.refunds``, ``invoice.payments``), which the API
returns only when expanded and the sandbox therefore adds at expansion time. Values are
realistic for a test-mode hosted Checkout payment instead of the fixtures' random
placeholders.  Time always comes in as
``now`` (from the sandbox's injected clock), never from ``time.time()``.

Billing objects (subscription, subscription item, invoice, invoice line, invoice payment,
invoice item, refund, dispute) have the *current* shapes (API ``2026-10-28.endive``): invoices
carry ``parent.subscription_details`` (no ``subscription``, no ``paid`` boolean; ``payments``
only when expanded); billing periods live on subscription items.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

API_VERSION = "2026-10-28.endive"

_ALNUM = string.ascii_letters + string.digits


def rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def new_id(prefix: str) -> str:
    """Ids shaped like Stripe's (prefix + random base62 tail of the usual length)."""
    tails = {
        "cs_test": "a1" + rand(56),
        "evt": "1" + rand(23),
        "pi": "3" + rand(23),
        "ch": "3" + rand(23),
        "txn": "3" + rand(23),
        "pm": "1" + rand(23),
        "price": "1" + rand(23),
        "li": "1" + rand(23),
        "cus": rand(14),
        "prod": rand(14),
        "req": rand(14),
        "sub": "1" + rand(23),
        "si": rand(14),
        "in": "1" + rand(23),
        "il": "1" + rand(23),
        "inpay": "1" + rand(23),
        "ii": "1" + rand(23),
        "re": "3" + rand(23),
        "du": "1" + rand(23),
        "promo": "1" + rand(23),
        "di": "1" + rand(23),
        "we": "1" + rand(23),
        "plan": rand(14),
    }
    return f"{prefix}_{tails.get(prefix, rand(24))}"


def list_object(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _address() -> dict[str, Any]:
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


# --- catalogue ---------------------------------------------------------------------------


def product(*, now: int, name: str, product_id: str | None = None) -> dict[str, Any]:
    return {
        "id": product_id or new_id("prod"),
        "object": "product",
        "active": True,
        "created": now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def price(
    *,
    now: int,
    product_id: str,
    unit_amount: int,
    currency: str = "usd",
    recurring_interval: str | None = None,
    interval_count: int = 1,
    price_id: str | None = None,
    nickname: str | None = None,
    lookup_key: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    recurring = None
    if recurring_interval:
        recurring = {
            "interval": recurring_interval,
            "interval_count": interval_count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
    return {
        "active": True,
        "billing_scheme": "per_unit",
        "created": now,
        "currency": currency.lower(),
        "custom_unit_amount": None,
        "id": price_id or new_id("price"),
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": dict(metadata or {}),
        "nickname": nickname,
        "object": "price",
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def line_item(*, price_obj: dict[str, Any], quantity: int, description: str) -> dict[str, Any]:
    amount = int(price_obj["unit_amount"]) * quantity
    return {
        "id": new_id("li"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price_obj["currency"],
        "description": description,
        "metadata": {},
        "price": price_obj,
        "quantity": quantity,
    }


# --- checkout ----------------------------------------------------------------------------


def checkout_session(
    *,
    now: int,
    session_id: str,
    mode: str,
    url: str,
    expires_at: int,
    currency: str | None,
    amount_subtotal: int | None,
    amount_total: int | None,
    success_url: str | None,
    cancel_url: str | None = None,
    client_reference_id: str | None = None,
    customer: str | None = None,
    customer_email: str | None = None,
    customer_creation: str | None = None,
    metadata: dict[str, str] | None = None,
    allow_promotion_codes: bool | None = None,
    billing_address_collection: str | None = None,
    locale: str | None = None,
    submit_type: str | None = None,
    payment_method_collection: str | None = None,
) -> dict[str, Any]:
    """An ``open``/``unpaid`` hosted Checkout Session as Stripe returns it from create."""
    payment_mode = mode == "payment"
    if customer_creation is None and payment_mode and customer is None:
        customer_creation = "if_required"
    return {
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": allow_promotion_codes,
        "amount_subtotal": amount_subtotal,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": billing_address_collection,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_account": None,
        "customer_creation": customer_creation,
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": expires_at,
        "id": session_id,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        }
        if payment_mode
        else None,
        "livemode": False,
        "locale": locale,
        "managed_payments": {"enabled": False},
        "metadata": dict(metadata or {}),
        "mode": mode,
        "object": "checkout.session",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": payment_method_collection,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": {
            "allow_redisplay_filters": ["always"],
            "payment_method_remove": None,
            "payment_method_save": None,
        }
        if customer
        else None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": submit_type,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "url": url,
        "wallet_options": None,
    }


# The billing address the sandbox's Checkout page enters unless told otherwise.
TEST_ADDRESS: dict[str, Any] = {
    "city": "San Francisco",
    "country": "US",
    "line1": "510 Townsend St",
    "line2": None,
    "postal_code": "94103",
    "state": "CA",
}


def customer_details(
    *, email: str | None, name: str | None, address: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "address": dict(address or TEST_ADDRESS),
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def customer(
    *, now: int, email: str | None, name: str | None, customer_id: str | None = None
) -> dict[str, Any]:
    return {
        "address": None,
        "balance": 0,
        "created": now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "id": customer_id or new_id("cus"),
        "invoice_prefix": rand(8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name,
        "next_invoice_sequence": 1,
        "object": "customer",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


# --- payments ----------------------------------------------------------------------------


def payment_intent(
    *,
    now: int,
    amount: int,
    currency: str,
    customer: str | None,
    metadata: dict[str, str] | None,
    description: str | None = None,
    receipt_email: str | None = None,
    pi_id: str | None = None,
) -> dict[str, Any]:
    """A PaymentIntent that Checkout created and confirmed (status ``succeeded``)."""
    pid = pi_id or new_id("pi")
    return {
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pid}_secret_{rand(25)}",
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "id": pid,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": dict(metadata or {}),
        "next_action": None,
        "object": "payment_intent",
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(
    *,
    now: int,
    amount: int,
    currency: str,
    customer: str | None,
    payment_intent_id: str,
    payment_method_id: str,
    email: str | None,
    name: str | None,
    metadata: dict[str, str] | None,
    receipt_base_url: str,
    charge_id: str | None = None,
) -> dict[str, Any]:
    """A succeeded card charge (test card 4242 4242 4242 4242)."""
    cid = charge_id or new_id("ch")
    return {
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn"),
        "billing_details": {
            "address": {**_address(), "country": "US", "postal_code": "94103"},
            "email": email,
            "name": name,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "GIVRWRLD",
        "captured": True,
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "id": cid,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "object": "charge",
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": payment_intent_id,
        "payment_method": payment_method_id,
        "payment_method_details": {
            "card": {
                "amount_authorized": amount,
                "authorization_code": None,
                "brand": "visa",
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": "pass",
                    "cvc_check": "pass",
                },
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": rand(16),
                "funding": "credit",
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": "4242",
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": "visa",
                "network_token": {"used": False},
                "network_transaction_id": rand(15),
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "regulated_status": "unregulated",
                "three_d_secure": None,
                "transaction_link_id": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": None,  # set when Stripe e-mails a receipt (pricing.send_receipt)
        "receipt_number": None,
        "receipt_url": f"{receipt_base_url}/receipts/{cid}",
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


# --- billing -----------------------------------------------------------------------------


def plan_from_price(price_obj: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price (still sent on subscription items)."""
    rec = price_obj["recurring"] or {}
    return {
        "active": price_obj["active"],
        "amount": price_obj["unit_amount"],
        "amount_decimal": str(price_obj["unit_amount"]),
        "billing_scheme": "per_unit",
        "created": price_obj["created"],
        "currency": price_obj["currency"],
        "id": price_obj["id"],
        "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count", 1),
        "livemode": False,
        "metadata": dict(price_obj["metadata"]),
        "meter": None,
        "nickname": price_obj["nickname"],
        "object": "plan",
        "product": price_obj["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def subscription_item(
    *,
    now: int,
    subscription_id: str,
    price_obj: dict[str, Any],
    quantity: int,
    period_start: int,
    period_end: int,
) -> dict[str, Any]:
    return {
        "billing_thresholds": None,
        "created": now,
        "current_period_end": period_end,
        "current_period_start": period_start,
        "discounts": [],
        "id": new_id("si"),
        "metadata": {},
        "object": "subscription_item",
        "plan": plan_from_price(price_obj),
        "price": price_obj,
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": [],
    }


def subscription(
    *,
    now: int,
    customer: str,
    currency: str,
    metadata: dict[str, str] | None,
    default_payment_method: str | None,
    subscription_id: str | None = None,
) -> dict[str, Any]:
    """An ``active`` subscription; the caller fills ``items.data`` and ``latest_invoice``."""
    sid = subscription_id or new_id("sub")
    return {
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "id": sid,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object([], f"/v1/subscription_items?subscription={sid}"),
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": dict(metadata or {}),
        "next_pending_invoice_item_invoice": None,
        "object": "subscription",
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def invoice_line(
    *,
    invoice_id: str,
    amount: int,
    currency: str,
    description: str,
    price_obj: dict[str, Any],
    quantity: int,
    period_start: int,
    period_end: int,
    subscription_id: str | None,
    subscription_item_id: str | None = None,
    invoice_item_id: str | None = None,
    proration: bool = False,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A line: a subscription item's period (``subscription_item_details``) or a pending
    invoice item (``invoice_item_details``: one-time prices, prorations)."""
    if subscription_item_id is not None:
        parent: dict[str, Any] = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
                "subscription_item": subscription_item_id,
            },
            "type": "subscription_item_details",
        }
    else:
        parent = {
            "invoice_item_details": {
                "invoice_item": invoice_item_id,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    return {
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "id": new_id("il"),
        "invoice": invoice_id,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "object": "line_item",
        "parent": parent,
        "period": {"end": period_end, "start": period_start},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
            "type": "price_details",
            "unit_amount_decimal": str(price_obj["unit_amount"]),
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": subscription_id,
        "subtotal": amount,
        "taxes": [],
    }


def invoice(
    *,
    now: int,
    customer: dict[str, Any],
    currency: str,
    billing_reason: str,
    subscription_id: str | None,
    subscription_metadata: dict[str, str] | None,
    period_start: int,
    period_end: int,
    invoice_id: str | None = None,
) -> dict[str, Any]:
    """A ``draft`` invoice (no ``subscription`` key, no ``paid`` boolean: current shape)."""
    iid = invoice_id or new_id("in")
    parent = None
    if subscription_id is not None:
        parent = {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription_metadata or {}),
                "subscription": subscription_id,
            },
            "type": "subscription_details",
        }
    return {
        "account_country": "US",
        "account_name": "GIVRwrld",
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": None,
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "id": iid,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_object([], f"/v1/invoices/{iid}/lines"),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "object": "invoice",
        "on_behalf_of": None,
        "parent": parent,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def invoice_payment(
    *, now: int, invoice_id: str, amount: int, currency: str, payment_intent_id: str
) -> dict[str, Any]:
    return {
        "amount_paid": None,
        "amount_requested": amount,
        "created": now,
        "currency": currency,
        "id": new_id("inpay"),
        "invoice": invoice_id,
        "is_default": True,
        "livemode": False,
        "object": "invoice_payment",
        "payment": {"payment_intent": payment_intent_id, "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


def invoice_item(
    *,
    now: int,
    customer: str,
    amount: int,
    currency: str,
    description: str,
    price_obj: dict[str, Any],
    quantity: int,
    period_start: int,
    period_end: int,
    subscription_id: str | None,
    subscription_item_id: str | None,
    proration: bool,
) -> dict[str, Any]:
    """A pending invoice item (``invoice: null`` until a later invoice picks it up)."""
    return {
        "amount": amount,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "date": now,
        "description": description,
        "discountable": not proration,
        "discounts": [],
        "id": new_id("ii"),
        "invoice": None,
        "livemode": False,
        "metadata": {},
        "net_amount": amount,
        "object": "invoiceitem",
        "parent": {
            "subscription_details": {
                "subscription": subscription_id,
                "subscription_item": subscription_item_id,
            }
            if subscription_id
            else None,
            "type": "subscription_details" if subscription_id else None,
        },
        "period": {"end": period_end, "start": period_start},
        "pricing": {
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
            "type": "price_details",
            "unit_amount_decimal": str(price_obj["unit_amount"]),
        },
        "proration": proration,
        "quantity": quantity,
        "tax_rates": [],
        "test_clock": None,
    }


def refund(
    *,
    now: int,
    amount: int,
    charge_obj: dict[str, Any],
    reason: str | None,
    metadata: dict[str, str] | None,
) -> dict[str, Any]:
    return {
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge_obj["id"],
        "created": now,
        "currency": charge_obj["currency"],
        "customer": charge_obj["customer"],
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "id": new_id("re"),
        "metadata": dict(metadata or {}),
        "object": "refund",
        "payment_intent": charge_obj["payment_intent"],
        "payment_method": charge_obj["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(*, now: int, charge_obj: dict[str, Any], reason: str, due_by: int) -> dict[str, Any]:
    evidence_fields = (
        "access_activity_log billing_address cancellation_policy cancellation_policy_disclosure "
        "cancellation_rebuttal customer_communication customer_email_address customer_name "
        "customer_purchase_ip customer_signature duplicate_charge_documentation "
        "duplicate_charge_explanation duplicate_charge_id product_description receipt "
        "refund_policy refund_policy_disclosure refund_refusal_explanation service_date "
        "service_documentation shipping_address shipping_carrier shipping_date "
        "shipping_documentation shipping_tracking_number uncategorized_file uncategorized_text"
    ).split()
    evidence: dict[str, Any] = dict.fromkeys(evidence_fields)
    evidence["enhanced_evidence"] = {}
    return {
        "amount": charge_obj["amount"],
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "created": now,
        "currency": charge_obj["currency"],
        "enhanced_eligibility_types": [],
        "evidence": evidence,
        "evidence_details": {
            "due_by": due_by,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            # stripe/_dispute.py EvidenceDetails.submission_method (no evidence submitted)
            "submission_method": "not_submitted",
        },
        "id": new_id("du"),
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "object": "dispute",
        "payment_intent": charge_obj["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "case_type": "chargeback",
                "network": "visa",
                "network_reason_code": "10.4" if reason == "fraudulent" else "13.1",
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


# --- events ------------------------------------------------------------------------------


def event(
    *,
    now: int,
    type: str,
    data_object: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    pending_webhooks: int = 0,
    api_version: str = API_VERSION,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "api_version": api_version,
        "created": now,
        "data": data,
        "id": new_id("evt"),
        "livemode": False,
        "object": "event",
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type,
    }
