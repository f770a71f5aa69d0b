"""The sandbox's state and the operations behind the HTTP API, the Pay page and the admin API."""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from . import objects
from .billing import AFTER_FINAL_FAILURE, BillingMixin
from .errors import SandboxError, StripeApiError, invalid, missing, no_such, unknown_parameter
from .pricing import PricingMixin
from .validation import validate_params
from .webhooks import WebhookMixin

# deliver(body, stripe_signature) -> status; or deliver(body, stripe_signature, url=...) to
# also learn which endpoint's URL the delivery is for.
DeliverCallback = Callable[..., int]
DEFAULT_CALLBACK_URL = "http://127.0.0.1/stripe-sandbox-callback"

MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60
IDEMPOTENCY_TTL = 24 * 60 * 60
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Per-type object stores (and billing bookkeeping), persisted as-is.
STORE_NAMES = (
    "products",
    "prices",
    "sessions",
    "session_line_items",
    "session_params",
    "customers",
    "payment_intents",
    "charges",
    "subscriptions",
    "invoices",
    "invoice_items",
    "invoice_payments",
    "refunds",
    "disputes",
    "dunning",
    "failing_customers",
    "webhook_endpoints",
    "webhook_secrets",
    "event_targets",
    "coupons",
    "promotion_codes",
    "discounts",
    "portal_sessions",
)
KNOB_DEFAULTS: dict[str, Any] = {
    "webhooks_enabled": True,
    "error_rate": 0.0,
    "fail_next": 0,
    "emit_payment_events": False,
    "emit_noise_events": True,
    "retry_schedule_days": [3, 5, 7],
    "after_final_failure": "cancel",
    "email_receipts": False,
}


def as_str(value: Any) -> str:
    """Undo the decoder's bool coercion for parameters that are strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        raise TypeError
    return value


def as_int(value: Any, param: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise invalid(param, f"Invalid integer: {value}", code="parameter_invalid_integer")


def check_metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid(param, "Invalid object")
    if len(value) > 50:
        raise invalid(param, "Metadata can have up to 50 keys, but you passed in more than 50.")
    out: dict[str, str] = {}
    for key, raw in value.items():
        if not isinstance(raw, (str, bool)):
            raise invalid(f"{param}[{key}]", "Metadata values must be strings.")
        text = as_str(raw)
        if len(key) > 40:
            raise invalid(
                f"{param}[{key}]",
                f"Metadata keys can have up to 40 characters, but you passed in a key that "
                f"is {len(key)} characters. Invalid key: '{key}'.",
            )
        if len(text) > 500:
            raise invalid(
                f"{param}[{key}]",
                f"Metadata values can have up to 500 characters, but you passed in a value "
                f"that is {len(text)} characters. Invalid value: '{text[:40]}...'.",
            )
        if text != "":  # an empty string unsets the key
            out[key] = text
    return out


# Stripe's supported presentment currencies (Stripe docs "Supported currencies"), ISO 4217.
CURRENCIES = frozenset(
    "aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp "
    "byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel "
    "gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd "
    "kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn "
    "nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd "
    "shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst "
    "xaf xcd xof xpf yer zar zmw".split()
)
MAX_UNIT_AMOUNT = 99_999_999  # Stripe: amounts are at most eight digits (99999999)


def check_currency(value: Any, param: str) -> str:
    """A three-letter ISO code Stripe supports; stored lowercase, as Stripe returns it."""
    text = as_str(value)
    if not re.fullmatch(r"[A-Za-z]{3}", text) or text.lower() not in CURRENCIES:
        raise invalid(
            param,
            f"Invalid currency: {text}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
        )
    return text.lower()


def check_unit_amount(value: Any, param: str) -> int:
    """A non-negative integer number of the currency's minor unit."""
    amount = as_int(value, param)
    if amount < 0:
        raise invalid(param, "This value must be greater than or equal to 0.")
    if amount > MAX_UNIT_AMOUNT:
        raise invalid(param, f"This value must be less than or equal to {MAX_UNIT_AMOUNT}.")
    return amount


def _check_url(params: dict[str, Any], name: str) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    url = as_str(raw)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(name, "Not a valid URL", code="url_invalid")
    return url


class StripeSandbox(WebhookMixin, PricingMixin, BillingMixin):
    """A small stateful stand-in for the Stripe API and the hosted Checkout page."""

    def __init__(
        self,
        *,
        api_key: str = "sk_test_sandbox",
        webhook_secret: str | None = None,
        webhook_url: str | None = None,
        deliver: DeliverCallback | None = None,
        default_endpoint: bool = True,
        public_url: str | None = None,
        prices: list[dict[str, Any]] | None = None,
        clock: Callable[[], float] | None = None,
        state_path: str | None = None,
    ) -> None:
        if (webhook_url or deliver) and default_endpoint and not webhook_secret:
            raise ValueError(
                "webhook_secret (e.g. 'whsec_...') is required with webhook_url/deliver"
            )
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.deliver_callback = deliver
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock: Callable[[], float] = clock or time.time
        self.clock_offset = 0.0  # the test clock: seconds added to ``clock()`` by advance()
        self.state_path = state_path
        self.lock = threading.RLock()

        self.products: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.session_line_items: dict[str, list[dict[str, Any]]] = {}
        # create-time parameters that are not on the session object (payment_intent_data, ...)
        self.session_params: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.invoice_items: dict[str, dict[str, Any]] = {}  # pending prorations etc.
        self.invoice_payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        # invoice id -> {"first_failed_at", "retries_done"} while automatic retries remain
        self.dunning: dict[str, dict[str, Any]] = {}
        self.failing_customers: dict[str, bool] = {}
        self.webhook_endpoints: dict[str, dict[str, Any]] = {}
        self.webhook_secrets: dict[str, str] = {}  # endpoint id -> whsec_ (never in objects)
        self.event_targets: dict[str, list[str]] = {}  # event id -> endpoint ids it was for
        self.default_endpoint_id: str | None = None
        self.coupons: dict[str, dict[str, Any]] = {}
        self.promotion_codes: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}  # portal.py
        self.discounts: dict[str, dict[str, Any]] = {}
        self.receipts: list[dict[str, Any]] = []  # receipts Stripe e-mailed (the outbox)
        # Events and GET /v1/events are rendered at the account's default API version.
        self.account_api_version = objects.API_VERSION
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.knobs: dict[str, Any] = copy.deepcopy(KNOB_DEFAULTS)

        self._served_url: str | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

        if state_path and os.path.exists(state_path):
            self._load()
        for spec in prices or []:
            if spec.get("id") not in self.prices:
                self.add_price_spec(spec)
        if default_endpoint:
            self._ensure_default_endpoint()

        from .wsgi import SandboxApp

        self.app = SandboxApp(self)

    # --- knobs ---------------------------------------------------------------------------

    @property
    def webhooks_enabled(self) -> bool:
        return bool(self.knobs["webhooks_enabled"])

    @webhooks_enabled.setter
    def webhooks_enabled(self, value: bool) -> None:
        self.set_knobs({"webhooks_enabled": value})

    @property
    def error_rate(self) -> float:
        return float(self.knobs["error_rate"])

    @error_rate.setter
    def error_rate(self, value: float) -> None:
        self.set_knobs({"error_rate": value})

    def set_knobs(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply knob changes; raises ``ValueError`` on bad names/values."""
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in KNOB_DEFAULTS:
                raise ValueError(f"unknown knob {name!r} (known: {', '.join(KNOB_DEFAULTS)})")
            if name in (
                "webhooks_enabled",
                "emit_payment_events",
                "emit_noise_events",
                "email_receipts",
            ):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif name == "error_rate":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError("error_rate must be a number between 0 and 1")
                if not 0 <= value <= 1:
                    raise ValueError("error_rate must be a number between 0 and 1")
                value = float(value)
            elif name == "fail_next":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError("fail_next must be a non-negative integer")
            elif name == "retry_schedule_days":
                ok = isinstance(value, list) and all(
                    isinstance(d, (int, float)) and not isinstance(d, bool) and d > 0 for d in value
                )
                if not ok or value != sorted(value) or len(set(value)) != len(value):
                    raise ValueError(
                        "retry_schedule_days must be a list of increasing positive numbers "
                        "(days after the first failed payment)"
                    )
                value = list(value)
            elif name == "after_final_failure":
                if value not in AFTER_FINAL_FAILURE:
                    raise ValueError("after_final_failure must be cancel, unpaid or past_due")
            clean[name] = value
        with self.lock:
            self.knobs.update(clean)
            self._save()
            return copy.deepcopy(self.knobs)

    # --- helpers -------------------------------------------------------------------------

    def now(self) -> int:
        """Unix seconds: the injected clock plus the test-clock offset (see ``advance``)."""
        return int(self.clock() + self.clock_offset)

    @property
    def base_url(self) -> str:
        return self.public_url or self._served_url or "http://127.0.0.1:12111"

    @property
    def has_endpoint(self) -> bool:
        """Whether any webhook endpoint is enabled."""
        return any(we["status"] == "enabled" for we in self.webhook_endpoints.values())

    @property
    def default_endpoint(self) -> dict[str, Any] | None:
        """The endpoint made from ``webhook_url`` / ``deliver`` / ``webhook_secret``, if any."""
        return self.webhook_endpoints.get(self.default_endpoint_id or "")

    def _ensure_default_endpoint(self) -> None:
        """The constructor's single webhook URL (or ``deliver`` callback) is a pre-made
        endpoint: ``enabled_events=["*"]``, pinned to the sandbox's API version, signed with
        ``webhook_secret`` — what the demo and the tests have always used."""
        if not (self.webhook_url or self.deliver_callback) or not self.webhook_secret:
            return
        url = self.webhook_url or DEFAULT_CALLBACK_URL
        we = self.default_endpoint
        if we is not None:  # restarted with saved state: follow the command line
            we["url"] = url
            self.webhook_secrets[we["id"]] = self.webhook_secret
            return
        made = self.create_webhook_endpoint(
            {
                "url": url,
                "enabled_events": ["*"],
                "api_version": objects.API_VERSION,
                "description": "Stripe sandbox default endpoint (--webhook-url)",
            },
            secret=self.webhook_secret,
        )
        self.default_endpoint_id = made["id"]
        self._save()

    def find_object(self, object_id: str) -> dict[str, Any] | None:
        for store in (
            self.sessions,
            self.payment_intents,
            self.customers,
            self.charges,
            self.subscriptions,
            self.invoices,
            self.invoice_payments,
            self.refunds,
            self.disputes,
            self.prices,
            self.products,
            self.promotion_codes,
            self.discounts,
            self.coupons,
        ):
            if object_id in store:
                return store[object_id]
        return None

    # --- catalogue -----------------------------------------------------------------------

    def add_price(
        self,
        id: str | None = None,
        *,
        unit_amount: int,
        currency: str = "usd",
        product_name: str,
        recurring_interval: str | None = None,
        lookup_key: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Add a Price (and its Product, reused by name). Returns the Price object."""
        if recurring_interval not in (None, "day", "week", "month", "year"):
            raise ValueError("recurring_interval must be day, week, month, year or None")
        with self.lock:
            now = self.now()
            prod = next((p for p in self.products.values() if p["name"] == product_name), None)
            if prod is None:
                prod = objects.product(now=now, name=product_name)
                self.products[prod["id"]] = prod
            price = objects.price(
                now=now,
                product_id=prod["id"],
                unit_amount=int(unit_amount),
                currency=currency,
                recurring_interval=recurring_interval,
                price_id=id,
                lookup_key=lookup_key,
                metadata=metadata,
            )
            self.prices[price["id"]] = price
            if prod["default_price"] is None:
                prod["default_price"] = price["id"]
            self._save()
            return copy.deepcopy(price)

    def add_price_spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Seed format: ``{"id", "unit_amount", "currency", "product_name", "recurring"}``.

        ``recurring`` may be ``None``, ``"month"`` or ``{"interval": "month"}``;
        ``recurring_interval``, ``product`` (a name) and ``product_data.name`` are accepted
        as aliases.
        """
        recurring = spec.get("recurring", spec.get("recurring_interval"))
        if isinstance(recurring, dict):
            recurring = recurring.get("interval")
        name = (
            spec.get("product_name")
            or spec.get("product")
            or (spec.get("product_data") or {}).get("name")
        )
        if not name:
            raise ValueError(f"price spec needs product_name: {spec!r}")
        return self.add_price(
            spec.get("id"),
            unit_amount=int(spec["unit_amount"]),
            currency=spec.get("currency", "usd"),
            product_name=str(name),
            recurring_interval=recurring,
            lookup_key=spec.get("lookup_key"),
            metadata=spec.get("metadata"),
        )

    def create_price_from_params(self, p: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/prices (minimal): unit_amount, currency, product|product_data[name]."""
        allowed = {
            "unit_amount",
            "currency",
            "product",
            "product_data",
            "recurring",
            "nickname",
            "lookup_key",
            "metadata",
            "expand",
        }
        validate_params("POST /v1/prices", p)
        for key in p:
            if key not in allowed:
                raise unknown_parameter(key)
        if "currency" not in p:
            raise missing("currency")
        currency = check_currency(p["currency"], "currency")
        if "unit_amount" not in p:
            raise missing("unit_amount")
        amount = check_unit_amount(p["unit_amount"], "unit_amount")
        recurring = p.get("recurring") or None
        interval = None
        if recurring is not None:
            if not isinstance(recurring, dict) or "interval" not in recurring:
                raise missing("recurring[interval]")
            interval = as_str(recurring["interval"])
            if interval not in ("day", "week", "month", "year"):
                raise invalid(
                    "recurring[interval]",
                    "Invalid recurring[interval]: must be one of day, week, month, or year",
                )
        with self.lock:
            if "product" in p:
                prod_id = as_str(p["product"])
                if prod_id not in self.products:
                    raise no_such("product", prod_id, param="product")
                name = self.products[prod_id]["name"]
            elif isinstance(p.get("product_data"), dict) and p["product_data"].get("name"):
                name = as_str(p["product_data"]["name"])
                prod = objects.product(now=self.now(), name=name)
                self.products[prod["id"]] = prod
                prod_id = prod["id"]
            else:
                raise missing("product")
            price = self.add_price(
                unit_amount=amount,
                currency=currency,
                product_name=name,
                recurring_interval=interval,
                lookup_key=as_str(p["lookup_key"]) if p.get("lookup_key") else None,
                metadata=check_metadata(p.get("metadata")),
            )
            # The price belongs to the product named by id (add_price looks products up by
            # name, and two products may share one, as in Stripe).
            self.prices[price["id"]]["product"] = prod_id
            price["product"] = prod_id
            if p.get("nickname"):
                self.prices[price["id"]]["nickname"] = as_str(p["nickname"])
                price["nickname"] = as_str(p["nickname"])
            return price

    def create_product_from_params(self, p: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/products (minimal): Stripe's one required parameter is `name` (Stripe API:
        products.create; stripe/_product_service.py ProductService.CreateParams in the SDK)."""
        for key in p:
            if key not in ("name", "description", "metadata", "active", "expand"):
                raise unknown_parameter(key)
        if not p.get("name"):
            raise missing("name")
        name = as_str(p["name"])
        if len(name) > 5000:  # Stripe: maxLength 5000 in the API schema
            raise invalid("name", "Invalid string: name is longer than 5000 characters")
        with self.lock:
            prod = objects.product(now=self.now(), name=name)
            prod["metadata"] = check_metadata(p.get("metadata"))
            if p.get("description"):
                prod["description"] = as_str(p["description"])
            self.products[prod["id"]] = prod
            return copy.deepcopy(prod)

    # --- checkout sessions ---------------------------------------------------------------

    def create_session(
        self,
        p: dict[str, Any],
        *,
        base_url: str | None = None,
    ) -> dict[str, Any]:
        """Validate ``POST /v1/checkout/sessions`` parameters and store a new open session."""
        # Every name, nested or not, enum value and boolean, as Stripe's schema for this
        # endpoint at the pinned API version (stripe/params/checkout/_session_create_params.py).
        validate_params("POST /v1/checkout/sessions", p)
        mode = p.get("mode")
        if mode in (None, ""):
            raise missing("mode")
        mode = as_str(mode)
        if mode not in ("payment", "subscription", "setup"):
            raise invalid("mode", "Invalid mode: must be one of payment, setup, or subscription")
        ui_mode = as_str(p.get("ui_mode", "hosted_page"))
        if ui_mode != "hosted_page":
            raise invalid(
                "ui_mode",
                f"The Stripe sandbox only implements ui_mode=hosted_page (got {ui_mode!r}).",
            )
        success_url = _check_url(p, "success_url")
        if success_url is None:
            raise missing("success_url")
        cancel_url = _check_url(p, "cancel_url")

        with self.lock:
            self._sweep()
            now = self.now()
            customer_id = as_str(p["customer"]) if p.get("customer") else None
            customer_email = as_str(p["customer_email"]) if p.get("customer_email") else None
            if customer_id and customer_email:
                raise StripeApiError(
                    400,
                    "You may only specify one of these parameters: customer, customer_email.",
                )
            if customer_id and customer_id not in self.customers:
                raise no_such("customer", customer_id, param="customer")
            if customer_email and not _EMAIL_RE.match(customer_email):
                raise invalid(
                    "customer_email",
                    f"Invalid email address: {customer_email}",
                    code="email_invalid",
                )
            customer_creation = p.get("customer_creation")
            if customer_creation is not None:
                customer_creation = as_str(customer_creation)
                if mode == "subscription":
                    raise invalid(
                        "customer_creation",
                        "`customer_creation` can only be used in `payment` and `setup` mode.",
                    )
                if customer_creation not in ("always", "if_required"):
                    raise invalid(
                        "customer_creation",
                        "Invalid customer_creation: must be one of always or if_required",
                    )
            pmc = p.get("payment_method_collection")
            if pmc is not None and mode != "subscription":
                # stripe/_checkout_session.py: "Can only be set in `subscription` mode."
                raise invalid(
                    "payment_method_collection",
                    f"You can not pass `payment_method_collection` in `{mode}` mode. It can "
                    "only be used in `subscription` mode.",
                )
            if "payment_intent_data" in p and mode != "payment":
                raise invalid(
                    "payment_intent_data",
                    f"You can not pass `payment_intent_data` in `{mode}` mode.",
                )
            if "subscription_data" in p and mode != "subscription":
                raise invalid(
                    "subscription_data",
                    f"You can not pass `subscription_data` in `{mode}` mode.",
                )

            items, currency = self._build_line_items(p.get("line_items"), mode, now)
            discounts = self._session_discounts(p, currency, items, customer_id)
            automatic_tax = self._session_automatic_tax(p, customer_id)

            expires_at = now + MAX_EXPIRY
            if p.get("expires_at") not in (None, ""):
                expires_at = as_int(p["expires_at"], "expires_at")
                if expires_at < now + MIN_EXPIRY:
                    raise invalid(
                        "expires_at",
                        "The `expires_at` timestamp must be at least 30 minutes from "
                        "Checkout Session creation.",
                    )
                if expires_at > now + MAX_EXPIRY:
                    raise invalid(
                        "expires_at",
                        "The `expires_at` timestamp must be less than 24 hours from "
                        "Checkout Session creation.",
                    )
            metadata = check_metadata(p.get("metadata"))
            client_reference_id = None
            if p.get("client_reference_id") not in (None, ""):
                client_reference_id = as_str(p["client_reference_id"])
                if len(client_reference_id) > 200:
                    raise invalid(
                        "client_reference_id",
                        "Invalid client_reference_id: must be at most 200 characters",
                    )
            pi_data = p.get("payment_intent_data") or {}
            sub_data = p.get("subscription_data") or {}
            receipt_email = pi_data.get("receipt_email")
            if receipt_email is not None and not _EMAIL_RE.match(as_str(receipt_email)):
                raise invalid(
                    "payment_intent_data[receipt_email]",
                    f"Invalid email address: {receipt_email}",
                    code="email_invalid",
                )
            extras = {
                "payment_intent_data": {
                    "metadata": check_metadata(
                        pi_data.get("metadata"), "payment_intent_data[metadata]"
                    ),
                    "description": pi_data.get("description"),
                    "receipt_email": receipt_email,
                },
                "customer_update": dict(p.get("customer_update") or {}),
                "subscription_data": {
                    "metadata": check_metadata(
                        sub_data.get("metadata"), "subscription_data[metadata]"
                    ),
                },
            }
            total = sum(i["amount_total"] for i in items) if items else None
            session_id = objects.new_id("cs_test")
            base = (self.public_url or base_url or self.base_url).rstrip("/")
            apc = p.get("allow_promotion_codes")
            session = objects.checkout_session(
                now=now,
                session_id=session_id,
                mode=mode,
                url=f"{base}/pay/{session_id}",
                expires_at=expires_at,
                currency=currency,
                amount_subtotal=total,
                amount_total=total,
                success_url=success_url,
                cancel_url=cancel_url,
                client_reference_id=client_reference_id,
                customer=customer_id,
                customer_email=customer_email,
                customer_creation=customer_creation,
                metadata=metadata,
                allow_promotion_codes=apc if isinstance(apc, bool) else None,
                billing_address_collection=as_str(p["billing_address_collection"])
                if p.get("billing_address_collection")
                else None,
                locale=as_str(p["locale"]) if p.get("locale") else None,
                submit_type=as_str(p["submit_type"]) if p.get("submit_type") else None,
                # "Defaults to `always`" (stripe/_checkout_session.py); only subscription mode
                payment_method_collection=as_str(pmc or "always")
                if mode == "subscription"
                else None,
            )
            session["discounts"] = discounts
            session["automatic_tax"] = automatic_tax
            if items:
                self.price_session(session, items, with_tax=False)
            self.sessions[session_id] = session
            self.session_line_items[session_id] = items
            self.session_params[session_id] = extras
            self._save()
            return copy.deepcopy(session)

    def _session_discounts(
        self,
        p: dict[str, Any],
        currency: str | None,
        items: list[dict[str, Any]],
        customer_id: str | None,
    ) -> list[dict[str, Any]]:
        """``discounts[0][coupon|promotion_code]`` (Checkout applies at most one), exclusive
        with ``allow_promotion_codes`` (Stripe API: checkout.sessions.create)."""
        raw = p.get("discounts")
        if not raw:
            return []
        if p.get("allow_promotion_codes") is True:
            raise StripeApiError(
                400,
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            )
        if len(raw) > 1:
            raise invalid("discounts", "You may only apply one discount to a Checkout Session.")
        entry = raw[0]
        if bool(entry.get("coupon")) == bool(entry.get("promotion_code")):
            raise invalid(
                "discounts[0]",
                "You must specify exactly one of `coupon` or `promotion_code` in discounts[0].",
            )
        promo = None
        if entry.get("promotion_code"):
            pid = as_str(entry["promotion_code"])
            promo = self.promotion_codes.get(pid)
            if promo is None:
                raise no_such("promotion_code", pid, param="discounts[0][promotion_code]")
            coupon = self.coupons[promo["promotion"]["coupon"]]
        else:
            cid = as_str(entry["coupon"])
            found = self.coupons.get(cid)
            if found is None:
                raise no_such("coupon", cid, param="discounts[0][coupon]")
            coupon = found
        why = self._redeemable(
            coupon,
            promo,
            currency=currency,
            subtotal=sum(i["amount_subtotal"] for i in items),
            customer=customer_id,
        )
        if why:
            raise invalid("discounts[0]", why)
        return [{"coupon": coupon["id"], "promotion_code": promo["id"] if promo else None}]

    @staticmethod
    def _session_automatic_tax(p: dict[str, Any], customer_id: str | None) -> dict[str, Any]:
        """``automatic_tax[enabled]``. With an existing ``customer`` Checkout needs an address
        it may save: ``customer_update[address]`` or ``[shipping]`` = ``auto`` (Stripe docs
        "Collect taxes", Checkout). ``customer_update`` needs ``customer``."""
        update = p.get("customer_update")
        if update and not customer_id:
            raise invalid(
                "customer_update",
                "`customer_update` can only be used with `customer`.",
            )
        enabled = (p.get("automatic_tax") or {}).get("enabled") is True
        if enabled and customer_id:
            update = update or {}
            if "auto" not in (update.get("address"), update.get("shipping")):
                raise invalid(
                    "automatic_tax[enabled]",
                    "Automatic tax calculation in Checkout requires a valid address on the "
                    "Customer. Add a valid address to the Customer or set either "
                    "`customer_update[address]` to 'auto' or `customer_update[shipping]` to "
                    "'auto' to save the address entered in Checkout to the Customer.",
                )
        if not enabled:
            return {"enabled": False, "liability": None, "provider": None, "status": None}
        # the address is entered on the Checkout page: tax is computed on completion
        return {
            "enabled": True,
            "liability": {"type": "self"},
            "provider": "stripe",
            "status": "requires_location_inputs",
        }

    def _build_line_items(
        self, raw: Any, mode: str, now: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        if mode == "setup":
            if raw:
                raise invalid("line_items", "You cannot pass `line_items` in `setup` mode.")
            return [], None
        if not raw:
            raise missing("line_items")
        if not isinstance(raw, list):
            raise invalid("line_items", "Invalid array")
        if len(raw) > 100:
            raise invalid("line_items", "You can only pass up to 100 line items.")
        items: list[dict[str, Any]] = []
        currencies: set[str] = set()
        any_recurring = False
        for i, entry in enumerate(raw):
            param = f"line_items[{i}]"
            if not isinstance(entry, dict):
                raise invalid(param, "Invalid object")
            if entry.get("price"):
                price_id = as_str(entry["price"])
                price = self.prices.get(price_id)
                if price is None:
                    raise no_such("price", price_id, param=f"{param}[price]")
                if not price["active"]:
                    raise invalid(
                        f"{param}[price]",
                        f"The price specified ({price_id}) is inactive. This field only "
                        "accepts active prices.",
                    )
            elif isinstance(entry.get("price_data"), dict):
                price = self._inline_price(entry["price_data"], f"{param}[price_data]", now)
            else:
                raise invalid(
                    param, f"You must specify either `price` or `price_data` in `{param}`."
                )
            if entry.get("quantity") in (None, ""):
                raise invalid(
                    f"{param}[quantity]", f"Quantity is required. Add `quantity` to `{param}`"
                )
            quantity = as_int(entry["quantity"], f"{param}[quantity]")
            if quantity < 1:
                raise invalid(
                    f"{param}[quantity]", "This value must be greater than or equal to 1."
                )
            if price["recurring"]:
                any_recurring = True
                if mode == "payment":
                    raise invalid(
                        f"{param}[price]",
                        "You specified `payment` mode but passed a recurring price. Either "
                        "switch to `subscription` mode or use only one-time prices.",
                    )
            currencies.add(price["currency"])
            name = self.products.get(price["product"], {}).get("name", price["product"])
            items.append(
                objects.line_item(
                    price_obj=copy.deepcopy(price), quantity=quantity, description=name
                )
            )
        if mode == "subscription" and not any_recurring:
            raise invalid(
                "line_items",
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
            )
        if len(currencies) > 1:
            raise invalid(
                "line_items",
                "Checkout does not support multiple prices with different currencies.",
            )
        return items, currencies.pop()

    def _inline_price(self, data: dict[str, Any], param: str, now: int) -> dict[str, Any]:
        if not data.get("currency"):
            raise missing(f"{param}[currency]")
        currency = check_currency(data["currency"], f"{param}[currency]")
        if data.get("unit_amount") in (None, ""):
            raise missing(f"{param}[unit_amount]")
        amount = check_unit_amount(data["unit_amount"], f"{param}[unit_amount]")
        if data.get("product"):
            prod_id = as_str(data["product"])
            if prod_id not in self.products:
                raise no_such("product", prod_id, param=f"{param}[product]")
        elif isinstance(data.get("product_data"), dict) and data["product_data"].get("name"):
            prod = objects.product(now=now, name=as_str(data["product_data"]["name"]))
            self.products[prod["id"]] = prod
            prod_id = prod["id"]
        else:
            raise missing(f"{param}[product_data]")
        recurring = data.get("recurring")
        interval = as_str(recurring["interval"]) if isinstance(recurring, dict) else None
        price = objects.price(
            now=now,
            product_id=prod_id,
            unit_amount=amount,
            currency=currency,
            recurring_interval=interval,
        )
        price["active"] = False  # inline prices are archived, as on Stripe
        self.prices[price["id"]] = price
        return price

    def get_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            self._sweep()
            session = self.sessions.get(session_id)
            if session is None:
                raise no_such("checkout.session", session_id)
            return copy.deepcopy(session)

    def line_items_for(self, session_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.session_line_items.get(session_id, []))

    def complete_session(
        self,
        session_id: str,
        *,
        deliver: bool = True,
        payment_status: str = "paid",
        email: str | None = None,
        name: str | None = None,
        promotion_code: str | None = None,
        address: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What the Pay button does. Returns the ``checkout.session.completed`` event.

        ``promotion_code``: the code the buyer typed (only with ``allow_promotion_codes``;
        an unknown or unusable code raises ``SandboxError`` and changes nothing).
        ``address``: the billing address entered (default: a US test address); with
        ``automatic_tax`` the sandbox rate is added now (``total_details.amount_tax``).

        Payment mode creates a PaymentIntent (+ a succeeded Charge when ``paid``); a Customer
        is created in subscription mode or with ``customer_creation=always`` (otherwise the
        buyer is a guest: ``customer`` stays null and ``customer_details`` holds the email).
        ``payment_status="unpaid"`` simulates a delayed payment method (PI ``processing``).

        Subscription mode creates the Subscription, its first (paid) Invoice, a PaymentIntent
        and a Charge, and emits ``customer.created``, ``customer.subscription.created``,
        ``invoice.created``, ``invoice.finalized``, ``invoice.paid``,
        ``invoice.payment_succeeded`` before ``checkout.session.completed`` (the knob
        ``emit_noise_events=False`` drops all but ``invoice.paid``).
        """
        if payment_status not in ("paid", "unpaid", "no_payment_required"):
            raise ValueError("payment_status must be paid, unpaid or no_payment_required")
        extra_events: list[dict[str, Any]] = []
        billing_events: list[dict[str, Any]] = []
        created_customer: dict[str, Any] | None = None
        with self.lock:
            self._sweep()
            session = self.sessions.get(session_id)
            if session is None:
                raise SandboxError(f"No such checkout.session: '{session_id}'")
            if session["status"] != "open":
                raise SandboxError(
                    f"Checkout session {session_id} is {session['status']}, not open"
                )
            discounts = self._entered_promotion_code(session, promotion_code)
            now = self.now()
            mode = session["mode"]
            if mode == "setup":
                payment_status = "no_payment_required"
            if mode == "subscription" and payment_status != "paid":
                raise ValueError("the sandbox completes subscription-mode sessions as paid only")
            email = email or session["customer_email"]
            customer_id = session["customer"]
            if customer_id:
                email = email or self.customers[customer_id]["email"]
            email = email or "buyer@example.com"
            name = name or "Test Buyer"
            if customer_id is None and (
                mode == "subscription" or session["customer_creation"] == "always"
            ):
                cust = objects.customer(now=now, email=email, name=name)
                self.customers[cust["id"]] = cust
                customer_id = cust["id"]
                session["customer"] = customer_id
                if mode == "subscription":
                    created_customer = copy.deepcopy(cust)
                else:
                    extra_events.append(self._event("customer.created", cust))
            billing_address = {**objects.TEST_ADDRESS, **(address or {})}
            items = self.session_line_items.get(session_id, [])
            session["discounts"] = discounts
            if discounts:
                self.redeem(discounts[0]["coupon"], discounts[0]["promotion_code"])
            if session["automatic_tax"]["enabled"]:
                session["automatic_tax"]["status"] = "complete"
            if items:
                self.price_session(session, items, with_tax=session["automatic_tax"]["enabled"])
            update = self.session_params.get(session_id, {}).get("customer_update", {})
            if customer_id and update.get("address") == "auto":
                self.customers[customer_id]["address"] = dict(billing_address)
            if mode == "payment":
                extras = self.session_params.get(session_id, {}).get("payment_intent_data", {})
                pi = objects.payment_intent(
                    now=now,
                    amount=session["amount_total"] or 0,
                    currency=session["currency"] or "usd",
                    customer=customer_id,
                    metadata=extras.get("metadata"),
                    description=extras.get("description"),
                    receipt_email=extras.get("receipt_email"),
                )
                pi["payment_method"] = objects.new_id("pm")
                extra_events.append(self._event("payment_intent.created", pi))
                if payment_status == "paid":
                    ch = objects.charge(
                        now=now,
                        amount=pi["amount"],
                        currency=pi["currency"],
                        customer=customer_id,
                        payment_intent_id=pi["id"],
                        payment_method_id=pi["payment_method"],
                        email=email,
                        name=name,
                        metadata=pi["metadata"],
                        receipt_base_url=self.base_url,
                    )
                    self.send_receipt(ch, extras.get("receipt_email"))
                    self.charges[ch["id"]] = ch
                    pi["latest_charge"] = ch["id"]
                    extra_events.append(self._event("charge.succeeded", ch))
                    extra_events.append(self._event("payment_intent.succeeded", pi))
                else:
                    # A delayed-notification method (bank debit): the session completes
                    # unpaid; settle_async_payment() later succeeds or fails it.
                    pi["status"] = "processing"
                    pi["amount_received"] = 0
                    pi["processing"] = None
                    pi["payment_method_types"] = ["us_bank_account"]
                    extra_events.append(self._event("payment_intent.processing", pi))
                self.payment_intents[pi["id"]] = pi
                session["payment_intent"] = pi["id"]
            if mode == "subscription":
                billing_events = self._start_subscription(
                    session,
                    items,
                    self.session_params.get(session_id, {})
                    .get("subscription_data", {})
                    .get("metadata", {}),
                    created_customer,
                )
            session["status"] = "complete"
            session["payment_status"] = payment_status
            session["url"] = None
            session["customer_details"] = objects.customer_details(
                email=email, name=name, address=billing_address
            )
            session["collected_information"] = {
                "business_name": None,
                "individual_name": None,
                "shipping_details": None,
            }
            if not self.knobs["emit_payment_events"]:
                extra_events = []
            for ev in extra_events:
                self.events.append(ev)
            completed = self._record_event("checkout.session.completed", session)
        if deliver:
            for ev in [*extra_events, *billing_events]:
                self.deliver(ev)
            self.deliver(completed)
        return completed

    def settle_async_payment(
        self, session_id: str, *, succeed: bool = True, deliver: bool = True
    ) -> list[dict[str, Any]]:
        """The delayed payment of a session completed ``unpaid`` settles (Stripe: "Checkout
        fulfillment: delayed notification payment methods").

        Success: a succeeded Charge, the PaymentIntent ``succeeded``, the session
        ``payment_status=paid``; events ``charge.succeeded``, ``payment_intent.succeeded``
        (with ``emit_payment_events``) and ``checkout.session.async_payment_succeeded``.
        Failure: the PaymentIntent back to ``requires_payment_method`` with
        ``last_payment_error``, the session stays ``unpaid``; ``payment_intent.payment_failed``
        (with ``emit_payment_events``) and ``checkout.session.async_payment_failed``.
        Returns the events; raises ``SandboxError`` unless the session awaits its payment.
        """
        events: list[dict[str, Any]] = []
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise SandboxError(f"No such checkout.session: '{session_id}'")
            pi = self.payment_intents.get(session.get("payment_intent") or "")
            if (
                session["status"] != "complete"
                or session["payment_status"] != "unpaid"
                or pi is None
                or pi["status"] != "processing"
            ):
                raise SandboxError(
                    f"Checkout session {session_id} has no delayed payment waiting to settle"
                )
            payment_events: list[dict[str, Any]] = []
            if succeed:
                details = session["customer_details"] or {}
                ch = objects.charge(
                    now=self.now(),
                    amount=pi["amount"],
                    currency=pi["currency"],
                    customer=session["customer"],
                    payment_intent_id=pi["id"],
                    payment_method_id=pi["payment_method"],
                    email=details.get("email"),
                    name=details.get("name"),
                    metadata=pi["metadata"],
                    receipt_base_url=self.base_url,
                )
                self.send_receipt(ch, pi["receipt_email"])
                self.charges[ch["id"]] = ch
                pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=ch["id"])
                session["payment_status"] = "paid"
                payment_events = [
                    self._event("charge.succeeded", ch),
                    self._event("payment_intent.succeeded", pi),
                ]
                kind = "checkout.session.async_payment_succeeded"
            else:
                pi.update(
                    status="requires_payment_method",
                    last_payment_error={
                        "code": "payment_method_provider_decline",
                        "decline_code": "insufficient_funds",
                        "doc_url": "https://stripe.com/docs/error-codes/"
                        "payment-method-provider-decline",
                        "message": "The customer's bank account has insufficient funds.",
                        "payment_method": {
                            "id": pi["payment_method"],
                            "object": "payment_method",
                            "type": "us_bank_account",
                        },
                        "type": "card_error",
                    },
                )
                payment_events = [self._event("payment_intent.payment_failed", pi)]
                kind = "checkout.session.async_payment_failed"
            if self.knobs["emit_payment_events"]:
                events.extend(payment_events)
                self.events.extend(payment_events)
            events.append(self._record_event(kind, session))
            self._save()
        if deliver:
            for ev in events:
                self.deliver(ev)
        return events

    def _entered_promotion_code(
        self, session: dict[str, Any], code: str | None
    ) -> list[dict[str, Any]]:
        """The session's discount after the buyer typed ``code`` on the page (lock held)."""
        if code is None or code.strip() == "":
            return list(session["discounts"])
        if session["allow_promotion_codes"] is not True:
            raise SandboxError("This Checkout Session does not accept promotion codes.")
        promo = self.find_promotion_code(code)
        if promo is None:
            raise SandboxError("This code is invalid.")
        coupon = self.coupons[promo["promotion"]["coupon"]]
        items = self.session_line_items.get(session["id"], [])
        why = self._redeemable(
            coupon,
            promo,
            currency=session["currency"],
            subtotal=sum(i["amount_subtotal"] for i in items),
            customer=session["customer"],
        )
        if why:
            raise SandboxError(why)
        return [{"coupon": coupon["id"], "promotion_code": promo["id"]}]

    def expire_session(
        self,
        session_id: str,
        *,
        deliver: bool = True,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Expire an open session (``POST .../expire``). Returns ``checkout.session.expired``."""
        with self.lock:
            self._sweep()
            session = self.sessions.get(session_id)
            if session is None:
                raise SandboxError(f"No such checkout.session: '{session_id}'")
            if session["status"] != "open":
                raise SandboxError(
                    f'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f'This Checkout Session has a status of "{session["status"]}".'
                )
            event = self._expire_locked(session, request_id, idempotency_key)
        if deliver:
            self.deliver(event)
        return event

    def _expire_locked(
        self,
        session: dict[str, Any],
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        session["status"] = "expired"
        session["url"] = None
        if session["mode"] == "payment":
            session["after_expiration"] = None
        return self._record_event(
            "checkout.session.expired",
            session,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def sweep_expired(self, *, deliver: bool = True) -> list[dict[str, Any]]:
        """Expire open sessions whose ``expires_at`` has passed (by the injected clock).

        Emits (and, unless ``deliver=False``, delivers) one ``checkout.session.expired`` per
        session. Returns the new events.
        """
        with self.lock:
            now = self.now()
            due = [
                s
                for s in self.sessions.values()
                if s["status"] == "open" and s["expires_at"] <= now
            ]
            events = [self._expire_locked(s) for s in due]
        if deliver:
            for ev in events:
                self.deliver(ev)
        return events

    def _sweep(self) -> None:
        """Sweep from inside other operations (lock possibly held): deliver in the background
        so a request never blocks on the webhook receiver while holding the state lock."""
        events = self.sweep_expired(deliver=False)
        if events:
            threading.Thread(target=lambda: [self.deliver(e) for e in events], daemon=True).start()

    # --- events and webhooks -------------------------------------------------------------

    def _event(
        self,
        type: str,
        data_object: dict[str, Any],
        *,
        previous_attributes: dict[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        targets = self._targets_for(type)  # who gets it is decided when it happens
        ev = objects.event(
            now=self.now(),
            type=type,
            data_object=copy.deepcopy(data_object),
            previous_attributes=copy.deepcopy(previous_attributes),
            request_id=request_id,
            idempotency_key=idempotency_key,
            pending_webhooks=len(targets),
            api_version=self.account_api_version,
        )
        self.event_targets[ev["id"]] = targets
        return ev

    def _record_event(self, type: str, data_object: dict[str, Any], **kw: Any) -> dict[str, Any]:
        with self.lock:
            ev = self._event(type, data_object, **kw)
            self.events.append(ev)
            self._save()
            return ev

    def make_event(
        self,
        type: str,
        data_object: dict[str, Any],
        *,
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build, record (``events`` / ``GET /v1/events``) and return an event envelope."""
        return self._record_event(type, data_object, previous_attributes=previous_attributes)

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        with self.lock:
            for ev in self.events:
                if ev["id"] == event_id:
                    return ev
        return None

    def render_event(self, ev: dict[str, Any]) -> dict[str, Any]:
        """The event as the API returns it now (``pending_webhooks`` is live: the endpoints
        that have not acknowledged it yet)."""
        out = copy.deepcopy(ev)
        out["pending_webhooks"] = len(self.pending_endpoints(ev))
        return out

    # --- idempotency ---------------------------------------------------------------------

    def idempotency_lookup(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            now = self.now()
            for k in [k for k, v in self.idempotency.items() if v["at"] + IDEMPOTENCY_TTL < now]:
                del self.idempotency[k]
            return self.idempotency.get(key)

    def idempotency_store(self, key: str, record: dict[str, Any]) -> None:
        with self.lock:
            self.idempotency[key] = {**record, "at": self.now()}
            self._save()

    # --- lists ---------------------------------------------------------------------------

    def list_sessions(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        with self.lock:
            self._sweep()
            out = list(reversed(self.sessions.values()))
        for name in ("payment_intent", "status", "customer", "subscription"):
            if filters.get(name):
                out = [s for s in out if s.get(name) == filters[name]]
        return copy.deepcopy(out)

    def events_newest_first(self) -> Iterable[dict[str, Any]]:
        with self.lock:
            return list(reversed(self.events))

    # --- persistence ---------------------------------------------------------------------

    def _snapshot(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in STORE_NAMES}
        data.update(
            events=self.events,
            deliveries=self.deliveries,
            receipts=self.receipts,
            idempotency=self.idempotency,
            knobs=self.knobs,
            clock_offset=self.clock_offset,
            default_endpoint_id=self.default_endpoint_id,
        )
        return data

    def _save(self) -> None:
        if not self.state_path:
            return
        directory = os.path.dirname(os.path.abspath(self.state_path))
        fd, tmp = tempfile.mkstemp(prefix=".stripe-sandbox-", dir=directory)
        with os.fdopen(fd, "w") as fh:
            json.dump(self._snapshot(), fh)
        os.replace(tmp, self.state_path)

    def _load(self) -> None:
        assert self.state_path is not None
        with open(self.state_path) as fh:
            data = json.load(fh)
        for name in STORE_NAMES:
            getattr(self, name).update(data.get(name, {}))
        self.events.extend(data.get("events", []))
        self.deliveries.extend(data.get("deliveries", []))
        self.receipts.extend(data.get("receipts", []))
        self.idempotency.update(data.get("idempotency", {}))
        self.knobs.update({k: v for k, v in data.get("knobs", {}).items() if k in KNOB_DEFAULTS})
        self.clock_offset = float(data.get("clock_offset", 0.0))
        self.default_endpoint_id = data.get("default_endpoint_id")

    # --- server --------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the WSGI app from a daemon thread; returns the base URL."""
        from .wsgi import make_server

        if self._server is not None:
            raise SandboxError("already serving")
        server = make_server(host, port, self.app)
        bound_port = server.server_address[1]
        url_host = f"[{host}]" if ":" in host else host
        self._served_url = f"http://{url_host}:{bound_port}"
        if self.public_url is None:
            self.public_url = self._served_url
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="stripe-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self._served_url

    @property
    def url(self) -> str | None:
        return self._served_url

    def shutdown(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> StripeSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
