"""WSGI front end: Stripe's ``/v1`` API, the hosted ``/pay`` page, the ``/_sandbox`` admin API."""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import json
import logging
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as _wsgiref_make_server
from wsgiref.util import application_uri

from . import objects, portal
from .checkout_page import render_checkout, render_message, render_receipt
from .core import as_int, as_str
from .errors import (
    SandboxError,
    StripeApiError,
    invalid,
    no_such,
    unknown_parameter,
    unrecognized_url,
)
from .formcodec import FormDecodeError, decode_form
from .validation import validate_params
from .webhooks import validate_api_version

if TYPE_CHECKING:
    from .core import StripeSandbox

log = logging.getLogger("sandbox.stripe")

StartResponse = Callable[..., Any]
Response = tuple[int, list[tuple[str, str]], bytes]

# Which string-id fields may be expanded, per object type.
EXPANDABLE: dict[str, frozenset[str]] = {
    "checkout.session": frozenset(
        {"line_items", "customer", "payment_intent", "invoice", "subscription", "setup_intent"}
    ),
    "payment_intent": frozenset({"customer", "latest_charge", "payment_method"}),
    "charge": frozenset({"customer", "payment_intent", "balance_transaction", "refunds"}),
    "price": frozenset({"product"}),
    "item": frozenset({"price"}),
    "customer": frozenset({"default_source"}),
    "product": frozenset({"default_price"}),
    "subscription": frozenset({"customer", "latest_invoice", "items"}),
    "subscription_item": frozenset({"price"}),
    "invoice": frozenset({"customer", "lines", "payments"}),
    "invoice_payment": frozenset({"invoice", "payment"}),
    "invoice_payment.payment": frozenset({"payment_intent", "charge"}),
    "refund": frozenset({"charge", "payment_intent"}),
    "dispute": frozenset({"charge", "payment_intent"}),
    "promotion_code": frozenset({"customer"}),
    "promotion_code.promotion": frozenset({"coupon"}),
    "discount": frozenset({"customer", "promotion_code"}),
}

# Includable fields: not part of the object unless ``expand[]`` names them.
INCLUDABLE: dict[str, str] = {"charge": "refunds", "invoice": "payments"}


@dataclass
class Request:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]
    base_url: str
    request_id: str = field(default_factory=lambda: objects.new_id("req"))

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", "/") or "/",
            query=environ.get("QUERY_STRING", ""),
            body=body,
            headers=headers,
            base_url=application_uri(environ).rstrip("/"),
        )


def _json(status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = (json.dumps(obj, indent=2) + "\n").encode()
    return (
        status,
        [("Content-Type", "application/json"), ("Cache-Control", "no-cache, no-store"), *headers],
        body,
    )


def _html(status: int, text: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return (
        status,
        [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"), *headers],
        text.encode(),
    )


def mask_key(key: str) -> str:
    """Stripe's masking in 'Invalid API Key provided: sk_test_****...abcd'."""
    if len(key) > 12:
        return key[:8] + "*" * (len(key) - 12) + key[-4:]
    if len(key) > 4:
        return "*" * (len(key) - 4) + key[-4:]
    return "****"


def _canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class SandboxApp:
    """The WSGI callable (``StripeSandbox.app``)."""

    def __init__(self, sandbox: StripeSandbox) -> None:
        self.sb = sandbox
        self._inflight: set[str] = set()
        self._rng = random.Random()
        self.api_routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            ("POST", re.compile(r"^/v1/checkout/sessions$"), self.create_session),
            ("GET", re.compile(r"^/v1/checkout/sessions$"), self.list_sessions),
            ("GET", re.compile(r"^/v1/checkout/sessions/([^/]+)$"), self.retrieve_session),
            (
                "GET",
                re.compile(r"^/v1/checkout/sessions/([^/]+)/line_items$"),
                self.session_line_items,
            ),
            ("POST", re.compile(r"^/v1/checkout/sessions/([^/]+)/expire$"), self.expire_session),
            ("GET", re.compile(r"^/v1/webhook_endpoints$"), self.list_webhook_endpoints),
            ("POST", re.compile(r"^/v1/webhook_endpoints$"), self.create_webhook_endpoint),
            (
                "GET",
                re.compile(r"^/v1/webhook_endpoints/([^/]+)$"),
                self.retrieve("webhook_endpoints", "webhook_endpoint"),
            ),
            (
                "POST",
                re.compile(r"^/v1/webhook_endpoints/([^/]+)$"),
                self.update_webhook_endpoint,
            ),
            (
                "DELETE",
                re.compile(r"^/v1/webhook_endpoints/([^/]+)$"),
                self.delete_webhook_endpoint,
            ),
            ("POST", re.compile(r"^/v1/coupons$"), self.create_coupon),
            ("GET", re.compile(r"^/v1/coupons/([^/]+)$"), self.retrieve("coupons", "coupon")),
            ("POST", re.compile(r"^/v1/promotion_codes$"), self.create_promotion_code),
            ("GET", re.compile(r"^/v1/promotion_codes$"), self.list_promotion_codes),
            (
                "GET",
                re.compile(r"^/v1/promotion_codes/([^/]+)$"),
                self.retrieve("promotion_codes", "promotion_code"),
            ),
            ("GET", re.compile(r"^/v1/events$"), self.list_events),
            ("GET", re.compile(r"^/v1/events/([^/]+)$"), self.retrieve_event),
            ("GET", re.compile(r"^/v1/prices$"), self.list_prices),
            ("POST", re.compile(r"^/v1/prices$"), self.create_price),
            ("GET", re.compile(r"^/v1/prices/([^/]+)$"), self.retrieve_price),
            ("POST", re.compile(r"^/v1/products$"), self.create_product),
            ("GET", re.compile(r"^/v1/products/([^/]+)$"), self.retrieve("products", "product")),
            (
                "GET",
                re.compile(r"^/v1/payment_intents/([^/]+)$"),
                self.retrieve("payment_intents", "payment_intent"),
            ),
            (
                "GET",
                re.compile(r"^/v1/customers/([^/]+)$"),
                self.retrieve("customers", "customer"),
            ),
            ("GET", re.compile(r"^/v1/charges$"), self.list_charges),
            ("GET", re.compile(r"^/v1/charges/([^/]+)$"), self.retrieve("charges", "charge")),
            ("GET", re.compile(r"^/v1/charges/([^/]+)/refunds$"), self.charge_refunds),
            ("GET", re.compile(r"^/v1/invoice_payments$"), self.list_invoice_payments),
            (
                "GET",
                re.compile(r"^/v1/invoice_payments/([^/]+)$"),
                self.retrieve("invoice_payments", "invoice_payment"),
            ),
            ("GET", re.compile(r"^/v1/subscriptions$"), self.list_subscriptions),
            (
                "GET",
                re.compile(r"^/v1/subscriptions/([^/]+)$"),
                self.retrieve("subscriptions", "subscription"),
            ),
            ("POST", re.compile(r"^/v1/subscriptions/([^/]+)$"), self.update_subscription),
            ("DELETE", re.compile(r"^/v1/subscriptions/([^/]+)$"), self.cancel_subscription),
            ("GET", re.compile(r"^/v1/invoices$"), self.list_invoices),
            ("GET", re.compile(r"^/v1/invoices/([^/]+)$"), self.retrieve("invoices", "invoice")),
            ("POST", re.compile(r"^/v1/invoices/create_preview$"), self.invoice_preview),
            ("POST", re.compile(r"^/v1/invoices/([^/]+)/pay$"), self.pay_invoice),
            ("POST", re.compile(r"^/v1/refunds$"), self.create_refund),
            ("GET", re.compile(r"^/v1/refunds/([^/]+)$"), self.retrieve("refunds", "refund")),
            ("GET", re.compile(r"^/v1/disputes/([^/]+)$"), self.retrieve("disputes", "dispute")),
            ("POST", re.compile(r"^/v1/disputes/([^/]+)/close$"), self.close_dispute),
            ("POST", re.compile(r"^/v1/billing_portal/sessions$"), self.create_portal_session),
        ]

    # --- WSGI entry point ----------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        req = Request.from_environ(environ)
        try:
            if req.path.startswith("/v1/") or req.path == "/v1":
                status, headers, body = self.handle_api(req)
            elif req.path.startswith("/pay/"):
                status, headers, body = self.handle_pay(req)
            elif req.path.startswith("/receipts/") and req.method == "GET":
                status, headers, body = self.handle_receipt(req)
            elif req.path.startswith("/portal/"):
                status, headers, body = portal.handle_portal(
                    self.sb, req.method, req.path, req.body
                )
            elif req.path.startswith("/_sandbox/"):
                status, headers, body = self.handle_admin(req)
            elif req.path == "/" and req.method == "GET":
                status, headers, body = _json(
                    200,
                    {
                        "sandbox": "stripe",
                        "livemode": False,
                        "api_base": self.sb.url or req.base_url,
                        "checkout_page": f"{self.sb.base_url}/pay/<session id>",
                        "admin": "/_sandbox/knobs",
                    },
                )
            else:
                status, headers, body = _html(
                    404, render_message(None, "Not found", f"Nothing at {req.path}.")
                )
        except Exception:
            log.exception("stripe sandbox: unhandled error for %s %s", req.method, req.path)
            status, headers, body = _json(
                500,
                {"error": {"type": "api_error", "message": "Stripe sandbox internal error."}},
                [("Request-Id", req.request_id), ("Stripe-Should-Retry", "false")],
            )
        log.info("%s %s -> %s", req.method, req.path, status)
        phrase = HTTPStatus(status).phrase
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {phrase}", headers)
        return [body]

    # --- /v1 -----------------------------------------------------------------------------

    def handle_api(self, req: Request) -> Response:
        sb = self.sb
        with sb.lock:
            sb.requests.append((req.method, req.path))
        idem_key = req.headers.get("idempotency-key")
        headers = [
            ("Request-Id", req.request_id),
            ("Stripe-Version", req.headers.get("stripe-version", objects.API_VERSION)),
        ]
        if idem_key:
            headers.append(("Idempotency-Key", idem_key))
        try:
            self._authenticate(req)
            if "stripe-version" in req.headers:
                validate_api_version(req.headers["stripe-version"])
            self._maybe_fail()
            params = self._params(req)
            route = self._route(req)
            if req.method == "POST" and idem_key:
                return self._idempotent(req, idem_key, params, route, headers)
            status, obj = self._run(route, req, params, idem_key)
            return _json(status, obj, headers)
        except StripeApiError as exc:
            return _json(exc.status, exc.body(req.request_id), [*headers, *exc.headers.items()])

    def _authenticate(self, req: Request) -> None:
        auth = req.headers.get("authorization", "")
        key = ""
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        elif auth.lower().startswith("basic "):
            try:
                key = base64.b64decode(auth[6:].strip()).decode().split(":", 1)[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        if not key:
            raise StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                "details, or we can help at https://support.stripe.com/.",
            )
        if key != self.sb.api_key:
            raise StripeApiError(401, f"Invalid API Key provided: {mask_key(key)}")

    def _maybe_fail(self) -> None:
        sb = self.sb
        with sb.lock:
            fail = False
            if sb.knobs["fail_next"] > 0:
                sb.knobs["fail_next"] -= 1
                fail = True
            elif sb.knobs["error_rate"] > 0 and self._rng.random() < sb.knobs["error_rate"]:
                fail = True
        if fail:
            raise StripeApiError(
                500,
                "An unknown error occurred (Stripe sandbox fault injection).",
                type="api_error",
                headers={"Stripe-Should-Retry": "false"},
            )

    def _params(self, req: Request) -> dict[str, Any]:
        try:
            if req.method == "POST":
                return decode_form(req.body.decode("utf-8"))
            return decode_form(req.query)
        except (FormDecodeError, UnicodeDecodeError) as exc:
            raise StripeApiError(400, f"Invalid request body: {exc}") from exc

    def _route(self, req: Request) -> tuple[Callable[..., Any], tuple[str, ...]]:
        for method, pattern, handler in self.api_routes:
            m = pattern.match(req.path)
            if m and method == req.method:
                return handler, m.groups()
        raise unrecognized_url(req.method, req.path)

    def _run(
        self,
        route: tuple[Callable[..., Any], tuple[str, ...]],
        req: Request,
        params: dict[str, Any],
        idem_key: str | None,
    ) -> tuple[int, dict[str, Any]]:
        handler, groups = route
        obj = handler(req, params, idem_key, *groups)
        return 200, obj

    def _idempotent(
        self,
        req: Request,
        key: str,
        params: dict[str, Any],
        route: tuple[Callable[..., Any], tuple[str, ...]],
        headers: list[tuple[str, str]],
    ) -> Response:
        sb = self.sb
        fingerprint = _canonical(params)
        endpoint = f"{req.method} {req.path}"
        with sb.lock:
            saved = sb.idempotency_lookup(key)
            if saved is None and key in self._inflight:
                raise StripeApiError(
                    409,
                    "There is currently another in-progress request using this Stripe API key "
                    "and idempotency key. Please try again later.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            if saved is None:
                self._inflight.add(key)
        if saved is not None:
            if saved["endpoint"] != endpoint:
                raise StripeApiError(
                    400,
                    "Keys for idempotent requests can only be used for the same endpoint they "
                    f"were first used for ('{saved['endpoint']}' vs '{endpoint}'). Try using a "
                    f"key other than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            if saved["params"] != fingerprint:
                raise StripeApiError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                    type="idempotency_error",
                )
            return (
                saved["status"],
                [
                    ("Content-Type", "application/json"),
                    ("Cache-Control", "no-cache, no-store"),
                    *headers,
                    ("Idempotent-Replayed", "true"),
                    ("Original-Request", saved["request_id"]),
                ],
                saved["body"].encode(),
            )
        try:
            try:
                status, obj = self._run(route, req, params, key)
            except StripeApiError as exc:
                if exc.status < 500:
                    raise  # validation failures are not saved; the key can be retried
                status, obj = exc.status, exc.body(req.request_id)
            response = _json(status, obj, headers)
            sb.idempotency_store(
                key,
                {
                    "endpoint": endpoint,
                    "params": fingerprint,
                    "status": status,
                    "body": response[2].decode(),
                    "request_id": req.request_id,
                },
            )
            return response
        finally:
            with sb.lock:
                self._inflight.discard(key)

    # --- expansion and lists -------------------------------------------------------------

    @staticmethod
    def _expand_list(params: dict[str, Any]) -> list[str]:
        raw = params.get("expand", [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise invalid("expand", "Invalid array")
        return [as_str(x) for x in raw]

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        for i, path in enumerate(paths):
            parts = path.split(".")
            if len(parts) > 4:
                raise invalid(
                    f"expand[{i}]",
                    f"You cannot expand more than 4 levels of a property. Property: {path}",
                )
            self._expand_path(obj, parts, path, i)
        return obj

    def _includable(self, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        sb = self.sb
        with sb.lock:
            if kind == "charge":
                refunds = [r for r in reversed(sb.refunds.values()) if r["charge"] == obj["id"]]
                return objects.list_object(
                    copy.deepcopy(refunds), f"/v1/charges/{obj['id']}/refunds"
                )
            payments = sb.payments_of_invoice(obj["id"])
            return objects.list_object(
                copy.deepcopy(payments), f"/v1/invoice_payments?invoice={obj['id']}"
            )

    def _expand_path(
        self,
        obj: dict[str, Any],
        parts: list[str],
        full: str,
        index: int,
        kind: str | None = None,
    ) -> None:
        head, rest = parts[0], parts[1:]
        kind = kind or obj.get("object", "")
        if kind == "list" and head == "data":
            for item in obj["data"]:
                if rest:
                    self._expand_path(item, rest, full, index)
            return
        if head not in EXPANDABLE.get(kind, frozenset()):
            raise invalid(f"expand[{index}]", f"This property cannot be expanded ({full}).")
        if kind == "checkout.session" and head == "line_items":
            value: Any = objects.list_object(
                self.sb.line_items_for(obj["id"]),
                f"/v1/checkout/sessions/{obj['id']}/line_items",
            )
            obj["line_items"] = value
        elif kind in INCLUDABLE and head == INCLUDABLE[kind]:
            # Includable fields are absent unless expanded (Stripe API reference: "includable"
            # properties; changelog 2022-11-15 "Charges no longer auto-expand refunds").
            value = self._includable(obj, kind)
            obj[head] = value
        elif isinstance(obj.get(head), dict) and "object" not in obj[head]:
            if not rest:  # a plain sub-hash: only its id fields can be expanded
                raise invalid(f"expand[{index}]", f"This property cannot be expanded ({full}).")
            self._expand_path(obj[head], rest, full, index, kind=f"{kind}.{head}")
            return
        else:
            value = obj.get(head)
            if isinstance(value, str):
                with self.sb.lock:
                    target = self.sb.find_object(value)
                if target is not None:
                    value = copy.deepcopy(target)
                    obj[head] = value
        if rest and isinstance(value, dict):
            self._expand_path(value, rest, full, index)

    @staticmethod
    def paginate(
        items: list[dict[str, Any]], params: dict[str, Any], url: str, kind: str
    ) -> dict[str, Any]:
        limit = 10
        if params.get("limit") not in (None, ""):
            limit = as_int(params["limit"], "limit")
            if limit < 1:
                raise invalid("limit", "This value must be greater than or equal to 1.")
            if limit > 100:
                raise invalid("limit", "This value must be less than or equal to 100.")
        ids = [i["id"] for i in items]
        if params.get("starting_after"):
            cursor = as_str(params["starting_after"])
            if cursor not in ids:
                raise no_such(kind, cursor, param="starting_after")
            rest = items[ids.index(cursor) + 1 :]
            return objects.list_object(rest[:limit], url, has_more=len(rest) > limit)
        if params.get("ending_before"):
            cursor = as_str(params["ending_before"])
            if cursor not in ids:
                raise no_such(kind, cursor, param="ending_before")
            before = items[: ids.index(cursor)]
            return objects.list_object(before[-limit:], url, has_more=len(before) > limit)
        return objects.list_object(items[:limit], url, has_more=len(items) > limit)

    @staticmethod
    def _only(params: dict[str, Any], allowed: set[str]) -> None:
        for key in params:
            if key not in allowed:
                raise unknown_parameter(key)

    # --- handlers ------------------------------------------------------------------------

    def create_session(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        session = self.sb.create_session(p, base_url=req.base_url)
        return self.expand(session, self._expand_list(p))

    def retrieve_session(
        self, req: Request, p: dict[str, Any], idem: str | None, sid: str
    ) -> dict[str, Any]:
        self._only(p, {"expand"})
        return self.expand(self.sb.get_session(sid), self._expand_list(p))

    def session_line_items(
        self, req: Request, p: dict[str, Any], idem: str | None, sid: str
    ) -> dict[str, Any]:
        self._only(p, {"expand", "limit", "starting_after", "ending_before"})
        self.sb.get_session(sid)  # 404 if unknown
        page = self.paginate(
            self.sb.line_items_for(sid), p, f"/v1/checkout/sessions/{sid}/line_items", "item"
        )
        return self.expand(page, self._expand_list(p))

    def expire_session(
        self, req: Request, p: dict[str, Any], idem: str | None, sid: str
    ) -> dict[str, Any]:
        self._only(p, {"expand"})
        self.sb.get_session(sid)  # 404 if unknown
        try:
            event = self.sb.expire_session(sid, request_id=req.request_id, idempotency_key=idem)
        except SandboxError as exc:
            raise StripeApiError(400, str(exc), code="checkout_session_not_open") from exc
        return self.expand(copy.deepcopy(event["data"]["object"]), self._expand_list(p))

    def list_sessions(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        allowed = {"payment_intent", "status", "customer", "subscription", "created"}
        self._only(p, allowed | {"expand", "limit", "starting_after", "ending_before"})
        if p.get("status") and as_str(p["status"]) not in ("open", "complete", "expired"):
            raise invalid("status", "Invalid status: must be one of open, complete, or expired")
        filters = {k: as_str(v) for k, v in p.items() if k in allowed - {"created"} and v}
        items = self._created_filter(self.sb.list_sessions(filters), p.get("created"))
        page = self.paginate(items, p, "/v1/checkout/sessions", "checkout.session")
        return self.expand(page, self._expand_list(p))

    @staticmethod
    def _created_filter(items: list[dict[str, Any]], created: Any) -> list[dict[str, Any]]:
        if created in (None, ""):
            return items
        if not isinstance(created, dict):
            exact = as_int(created, "created")
            return [i for i in items if i["created"] == exact]
        ops: dict[str, Callable[[int, int], bool]] = {
            "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "lte": lambda a, b: a <= b,
        }
        for op, raw in created.items():
            if op not in ops:
                raise unknown_parameter(f"created[{op}]")
            bound = as_int(raw, f"created[{op}]")
            items = [i for i in items if ops[op](i["created"], bound)]
        return items

    def list_events(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        self._only(
            p,
            {
                "type",
                "types",
                "created",
                "delivery_success",
                "limit",
                "starting_after",
                "ending_before",
                "expand",
            },
        )
        sb = self.sb
        events = [sb.render_event(e) for e in sb.events_newest_first()]
        if p.get("type") and p.get("types"):
            raise invalid("types", "You may only specify one of these parameters: type, types.")
        if p.get("type"):
            pattern = as_str(p["type"])
            events = [e for e in events if fnmatch.fnmatchcase(e["type"], pattern)]
        if p.get("types"):
            types = p["types"] if isinstance(p["types"], list) else [p["types"]]
            if len(types) > 20:
                raise invalid("types", "You may pass at most 20 types.")
            wanted = [as_str(t) for t in types]
            events = [e for e in events if any(fnmatch.fnmatchcase(e["type"], t) for t in wanted)]
        if "delivery_success" in p:
            flag = p["delivery_success"]
            if not isinstance(flag, bool):
                raise invalid("delivery_success", "Invalid boolean: must be true or false")
            events = [e for e in events if sb.delivery_succeeded(e["id"]) == flag]
        events = self._created_filter(events, p.get("created"))
        page = self.paginate(events, p, "/v1/events", "event")
        return self.expand(page, self._expand_list(p))

    def retrieve_event(
        self, req: Request, p: dict[str, Any], idem: str | None, eid: str
    ) -> dict[str, Any]:
        self._only(p, {"expand"})
        event = self.sb.get_event(eid)
        if event is None:
            raise no_such("event", eid)
        return self.sb.render_event(event)

    def list_prices(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        self._only(
            p,
            {"active", "currency", "product", "type", "lookup_keys", "limit"}
            | {"starting_after", "ending_before", "expand"},
        )
        with self.sb.lock:
            items = copy.deepcopy(list(reversed(self.sb.prices.values())))
        if "active" in p:
            items = [i for i in items if i["active"] == p["active"]]
        for name in ("currency", "product", "type"):
            if p.get(name):
                items = [i for i in items if i[name] == as_str(p[name])]
        if p.get("lookup_keys"):
            keys = p["lookup_keys"] if isinstance(p["lookup_keys"], list) else [p["lookup_keys"]]
            items = [i for i in items if i["lookup_key"] in {as_str(k) for k in keys}]
        page = self.paginate(items, p, "/v1/prices", "price")
        return self.expand(page, self._expand_list(p))

    def create_product(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        return self.expand(self.sb.create_product_from_params(p), self._expand_list(p))

    def create_price(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        return self.expand(self.sb.create_price_from_params(p), self._expand_list(p))

    def retrieve_price(
        self, req: Request, p: dict[str, Any], idem: str | None, pid: str
    ) -> dict[str, Any]:
        self._only(p, {"expand"})
        with self.sb.lock:
            price = copy.deepcopy(self.sb.prices.get(pid))
        if price is None:
            raise no_such("price", pid)
        return self.expand(price, self._expand_list(p))

    def retrieve(self, store: str, kind: str) -> Callable[..., dict[str, Any]]:
        def handler(req: Request, p: dict[str, Any], idem: str | None, oid: str) -> dict[str, Any]:
            self._only(p, {"expand"})
            with self.sb.lock:
                obj = copy.deepcopy(getattr(self.sb, store).get(oid))
            if obj is None:
                raise no_such(kind, oid)
            return self.expand(obj, self._expand_list(p))

        return handler

    # --- billing -------------------------------------------------------------------------

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            self.sb.deliver(ev)

    def list_subscriptions(
        self, req: Request, p: dict[str, Any], idem: str | None
    ) -> dict[str, Any]:
        allowed = {"customer", "status", "price", "created"}
        self._only(p, allowed | {"expand", "limit", "starting_after", "ending_before"})
        statuses = {"active", "all", "canceled", "ended", "incomplete", "incomplete_expired"}
        statuses |= {"past_due", "paused", "trialing", "unpaid"}
        if p.get("status") and as_str(p["status"]) not in statuses:
            raise invalid("status", f"Invalid status: must be one of {', '.join(sorted(statuses))}")
        filters = {k: as_str(v) for k, v in p.items() if k in allowed - {"created"} and v}
        items = self._created_filter(self.sb.list_subscriptions(filters), p.get("created"))
        page = self.paginate(items, p, "/v1/subscriptions", "subscription")
        return self.expand(page, self._expand_list(p))

    def list_invoices(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        allowed = {"customer", "status", "subscription", "created"}
        self._only(p, allowed | {"expand", "limit", "starting_after", "ending_before"})
        filters = {k: as_str(v) for k, v in p.items() if k in allowed - {"created"} and v}
        items = self._created_filter(self.sb.list_invoices(filters), p.get("created"))
        page = self.paginate(items, p, "/v1/invoices", "invoice")
        return self.expand(page, self._expand_list(p))

    def list_webhook_endpoints(
        self, req: Request, p: dict[str, Any], idem: str | None
    ) -> dict[str, Any]:
        self._only(p, {"expand", "limit", "starting_after", "ending_before"})
        with self.sb.lock:
            items = copy.deepcopy(list(reversed(self.sb.webhook_endpoints.values())))
        page = self.paginate(items, p, "/v1/webhook_endpoints", "webhook_endpoint")
        return self.expand(page, self._expand_list(p))

    def create_webhook_endpoint(
        self, req: Request, p: dict[str, Any], idem: str | None
    ) -> dict[str, Any]:
        return self.sb.create_webhook_endpoint(p)

    def update_webhook_endpoint(
        self, req: Request, p: dict[str, Any], idem: str | None, we_id: str
    ) -> dict[str, Any]:
        return self.sb.update_webhook_endpoint(we_id, p)

    def delete_webhook_endpoint(
        self, req: Request, p: dict[str, Any], idem: str | None, we_id: str
    ) -> dict[str, Any]:
        self._only(p, set())
        return self.sb.delete_webhook_endpoint(we_id)

    def create_coupon(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        return self.sb.create_coupon(p)

    def create_promotion_code(
        self, req: Request, p: dict[str, Any], idem: str | None
    ) -> dict[str, Any]:
        return self.expand(self.sb.create_promotion_code(p), self._expand_list(p))

    def list_promotion_codes(
        self, req: Request, p: dict[str, Any], idem: str | None
    ) -> dict[str, Any]:
        self._only(p, {"active", "code", "coupon", "expand", "limit"} | {"starting_after"})
        with self.sb.lock:
            items = copy.deepcopy(list(reversed(self.sb.promotion_codes.values())))
        if "active" in p:
            items = [i for i in items if i["active"] == p["active"]]
        if p.get("code"):
            items = [i for i in items if i["code"] == as_str(p["code"])]
        if p.get("coupon"):
            items = [i for i in items if i["promotion"]["coupon"] == as_str(p["coupon"])]
        page = self.paginate(items, p, "/v1/promotion_codes", "promotion_code")
        return self.expand(page, self._expand_list(p))

    def list_charges(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        allowed = {"customer", "payment_intent", "created"}
        self._only(p, allowed | {"expand", "limit", "starting_after", "ending_before"})
        with self.sb.lock:
            items = copy.deepcopy(list(reversed(self.sb.charges.values())))
        for name in ("customer", "payment_intent"):
            if p.get(name):
                items = [i for i in items if i[name] == as_str(p[name])]
        items = self._created_filter(items, p.get("created"))
        page = self.paginate(items, p, "/v1/charges", "charge")
        return self.expand(page, self._expand_list(p))

    def charge_refunds(
        self, req: Request, p: dict[str, Any], idem: str | None, cid: str
    ) -> dict[str, Any]:
        self._only(p, {"expand", "limit", "starting_after", "ending_before"})
        with self.sb.lock:
            charge = copy.deepcopy(self.sb.charges.get(cid))
        if charge is None:
            raise no_such("charge", cid)
        refunds = self._includable(charge, "charge")["data"]
        page = self.paginate(refunds, p, f"/v1/charges/{cid}/refunds", "refund")
        return self.expand(page, self._expand_list(p))

    def list_invoice_payments(
        self, req: Request, p: dict[str, Any], idem: str | None
    ) -> dict[str, Any]:
        """``GET /v1/invoice_payments`` (stripe/_invoice_payment.py; params
        InvoicePaymentListParams): how a PaymentIntent is tied back to its invoice at current
        API versions (the PaymentIntent has no ``invoice`` field since 2025-03-31.basil)."""
        validate_params("GET /v1/invoice_payments", p)
        with self.sb.lock:
            items = copy.deepcopy(list(reversed(self.sb.invoice_payments.values())))
        if p.get("invoice"):
            items = [i for i in items if i["invoice"] == as_str(p["invoice"])]
        if p.get("status"):
            items = [i for i in items if i["status"] == as_str(p["status"])]
        payment = p.get("payment")
        if isinstance(payment, dict):
            kind = as_str(payment["type"])
            items = [i for i in items if i["payment"]["type"] == kind]
            if payment.get(kind):
                items = [i for i in items if i["payment"].get(kind) == as_str(payment[kind])]
        items = self._created_filter(items, p.get("created"))
        page = self.paginate(items, p, "/v1/invoice_payments", "invoice_payment")
        return self.expand(page, self._expand_list(p))

    def update_subscription(
        self, req: Request, p: dict[str, Any], idem: str | None, sid: str
    ) -> dict[str, Any]:
        sub, events = self.sb.api_update_subscription(sid, p, request_id=req.request_id, idem=idem)
        self._deliver(events)
        return self.expand(sub, self._expand_list(p))

    def cancel_subscription(
        self, req: Request, p: dict[str, Any], idem: str | None, sid: str
    ) -> dict[str, Any]:
        sub, events = self.sb.api_cancel_subscription(sid, p, request_id=req.request_id, idem=idem)
        self._deliver(events)
        return self.expand(sub, self._expand_list(p))

    def invoice_preview(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        return self.expand(self.sb.api_invoice_preview(p), self._expand_list(p))

    def pay_invoice(
        self, req: Request, p: dict[str, Any], idem: str | None, iid: str
    ) -> dict[str, Any]:
        inv, events, error = self.sb.api_pay_invoice(iid, p, request_id=req.request_id, idem=idem)
        self._deliver(events)
        if error is not None:
            raise error
        return self.expand(inv, self._expand_list(p))

    def create_portal_session(
        self, req: Request, p: dict[str, Any], idem: str | None
    ) -> dict[str, Any]:
        return portal.create_portal_session(self.sb, p, req.base_url)

    def create_refund(self, req: Request, p: dict[str, Any], idem: str | None) -> dict[str, Any]:
        refund, events = self.sb.api_create_refund(p, request_id=req.request_id, idem=idem)
        self._deliver(events)
        return self.expand(refund, self._expand_list(p))

    def close_dispute(
        self, req: Request, p: dict[str, Any], idem: str | None, did: str
    ) -> dict[str, Any]:
        dispute, events = self.sb.api_close_dispute(did, p, request_id=req.request_id, idem=idem)
        self._deliver(events)
        return self.expand(dispute, self._expand_list(p))

    # --- /pay ----------------------------------------------------------------------------

    def handle_pay(self, req: Request) -> Response:
        sid = req.path[len("/pay/") :].strip("/")
        sb = self.sb
        with sb.lock:
            sb._sweep()
            session = copy.deepcopy(sb.sessions.get(sid))
        if session is None:
            return _html(
                404,
                render_message(None, "Checkout not found", "This checkout session does not exist."),
            )
        if req.method == "GET":
            if session["status"] == "open":
                return _html(200, render_checkout(session, sb.line_items_for(sid)))
            return self._closed_page(session)
        if req.method != "POST":
            return _html(405, render_message(session, "Method not allowed", "Use GET or POST."))
        form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
        email = (form.get("email") or "").strip() or None
        delayed = session["mode"] == "payment" and form.get("payment_method") == "delayed"
        address = {
            key: form[f"address_{key}"].strip() or None
            for key in ("line1", "city", "postal_code", "state", "country")
            if f"address_{key}" in form
        }
        if session["status"] == "open" and session["billing_address_collection"] == "required":
            if not all(address.get(k) for k in ("line1", "city", "postal_code", "country")):
                page = render_checkout(
                    session, sb.line_items_for(sid), error="Enter your full billing address."
                )
                return _html(400, page)
        code = (form.get("promotion_code") or "").strip() or None
        try:
            sb.complete_session(
                sid,
                deliver=True,
                email=email,
                payment_status="unpaid" if delayed else "paid",
                promotion_code=code,
                address=address or None,
            )
        except SandboxError as exc:
            with sb.lock:
                current = copy.deepcopy(sb.sessions[sid])
            if current["status"] == "open":  # a bad promotion code: nothing was charged
                page = render_checkout(current, sb.line_items_for(sid), error=str(exc))
                return _html(400, page)
            with sb.lock:
                session = copy.deepcopy(sb.sessions[sid])
            return self._closed_page(session)
        target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", sid)
        return 303, [("Location", target), ("Content-Type", "text/plain")], b"See Other\n"

    def handle_receipt(self, req: Request) -> Response:
        """The page behind a charge's ``receipt_url`` (Stripe hosts one per charge)."""
        cid = req.path[len("/receipts/") :].strip("/")
        with self.sb.lock:
            charge = copy.deepcopy(self.sb.charges.get(cid))
        if charge is None:
            return _html(404, render_message(None, "Receipt not found", "No such receipt."))
        return _html(200, render_receipt(charge))

    @staticmethod
    def _closed_page(session: dict[str, Any]) -> Response:
        if session["status"] == "complete":
            return _html(
                409,
                render_message(
                    session,
                    "Already paid",
                    "This checkout session has already been completed. You have not been "
                    "charged again.",
                ),
            )
        return _html(
            410,
            render_message(
                session,
                "Checkout expired",
                "This checkout session has expired. Return to the shop to start a new order.",
            ),
        )

    # --- /_sandbox -----------------------------------------------------------------------

    def handle_admin(self, req: Request) -> Response:
        sb = self.sb
        path, method = req.path.rstrip("/"), req.method
        try:
            body: dict[str, Any] = {}
            if req.body.strip():
                parsed = json.loads(req.body)
                if not isinstance(parsed, dict):
                    raise ValueError("body must be a JSON object")
                body = parsed
        except ValueError as exc:
            return _json(400, {"error": f"invalid JSON body: {exc}"})
        if path == "/_sandbox/events" and method == "GET":
            with sb.lock:
                return _json(200, {"data": [sb.render_event(e) for e in sb.events]})
        if path == "/_sandbox/deliveries" and method == "GET":
            with sb.lock:
                return _json(200, {"data": list(sb.deliveries)})
        if path == "/_sandbox/receipts" and method == "GET":  # the e-mailed receipts
            with sb.lock:
                return _json(200, {"data": list(sb.receipts)})
        if path == "/_sandbox/sessions" and method == "GET":
            with sb.lock:
                return _json(200, {"data": list(sb.sessions.values())})
        if path == "/_sandbox/knobs":
            if method == "GET":
                with sb.lock:
                    return _json(200, dict(sb.knobs))
            if method in ("PUT", "PATCH", "POST"):
                try:
                    return _json(200, sb.set_knobs(body))
                except ValueError as exc:
                    return _json(400, {"error": str(exc)})
        if path == "/_sandbox/prices" and method == "POST":
            try:
                return _json(200, sb.add_price_spec(body))
            except (KeyError, TypeError, ValueError) as exc:
                return _json(400, {"error": f"bad price spec: {exc}"})
        if path == "/_sandbox/redeliver_failed" and method == "POST":
            return _json(200, {"statuses": sb.redeliver_failed()})
        m = re.fullmatch(r"/_sandbox/sessions/([^/]+)/async_payment", path)
        if m and method == "POST":
            outcome = body.get("outcome", "succeeded")
            deliver = body.get("deliver", True)
            if outcome not in ("succeeded", "failed") or not isinstance(deliver, bool):
                return _json(400, {"error": "outcome must be succeeded or failed"})
            try:
                events = sb.settle_async_payment(
                    m.group(1), succeed=outcome == "succeeded", deliver=deliver
                )
            except SandboxError as exc:
                code = 404 if str(exc).startswith("No such") else 409
                return _json(code, {"error": str(exc)})
            return _json(200, {"events": events})
        m = re.fullmatch(r"/_sandbox/sessions/([^/]+)/(complete|expire)", path)
        if m and method == "POST":
            sid, action = m.groups()
            if sid not in sb.sessions:
                return _json(404, {"error": f"No such checkout.session: '{sid}'"})
            deliver = body.get("deliver", True)
            if not isinstance(deliver, bool):
                return _json(400, {"error": "deliver must be true or false"})
            try:
                if action == "complete":
                    event = sb.complete_session(
                        sid,
                        deliver=deliver,
                        payment_status=str(body.get("payment_status", "paid")),
                        email=body.get("email"),
                        promotion_code=body.get("promotion_code"),
                        address=body.get("address"),
                    )
                else:
                    event = sb.expire_session(sid, deliver=deliver)
            except SandboxError as exc:
                return _json(409, {"error": str(exc)})
            except ValueError as exc:
                return _json(400, {"error": str(exc)})
            return _json(200, event)
        billing = self._admin_billing(path, method, body)
        if billing is not None:
            return billing
        m = re.fullmatch(r"/_sandbox/events/([^/]+)/redeliver", path)
        if m and method == "POST":
            endpoint = body.get("endpoint")
            try:
                status = sb.redeliver(m.group(1), endpoint=endpoint)
            except SandboxError as exc:
                return _json(404, {"error": str(exc)})
            return _json(200, {"event_id": m.group(1), "status": status})
        m = re.fullmatch(r"/_sandbox/webhook_endpoints/([^/]+)/secret", path)
        if m and method == "GET":  # the Dashboard's "Reveal secret"
            try:
                return _json(200, {"id": m.group(1), "secret": sb.endpoint_secret(m.group(1))})
            except SandboxError as exc:
                return _json(404, {"error": str(exc)})
        return _json(404, {"error": f"unknown admin route {method} {req.path}"})

    def _admin_billing(self, path: str, method: str, body: dict[str, Any]) -> Response | None:
        """Test clock, failing cards, disputes and invoice payment (admin mirrors)."""
        sb = self.sb
        deliver = body.get("deliver", True)
        if not isinstance(deliver, bool):
            return _json(400, {"error": "deliver must be true or false"})
        try:
            if path == "/_sandbox/clock" and method == "GET":
                return _json(200, {"now": sb.now(), "offset": sb.clock_offset})
            if path == "/_sandbox/clock/advance" and method == "POST":
                if "to" in body:
                    events = sb.advance_to(float(body["to"]), deliver=deliver)
                else:
                    events = sb.advance(float(body["seconds"]), deliver=deliver)
                return _json(200, {"now": sb.now(), "events": events})
            m = re.fullmatch(r"/_sandbox/customers/([^/]+)/payment_failing", path)
            if m and method in ("POST", "PUT"):
                failing = body.get("failing", True)
                if not isinstance(failing, bool):
                    return _json(400, {"error": "failing must be true or false"})
                sb.set_payment_failing(m.group(1), failing)
                return _json(200, {"customer": m.group(1), "failing": failing})
            if path == "/_sandbox/disputes" and method == "POST":
                dispute = sb.create_dispute(
                    str(body["charge"]),
                    reason=str(body.get("reason", "fraudulent")),
                    deliver=deliver,
                )
                return _json(200, dispute)
            m = re.fullmatch(r"/_sandbox/disputes/([^/]+)/close", path)
            if m and method == "POST":
                status = str(body.get("status", "won"))
                return _json(200, sb.close_dispute(m.group(1), status, deliver=deliver))
            m = re.fullmatch(r"/_sandbox/invoices/([^/]+)/pay", path)
            if m and method == "POST":
                events = sb.pay_invoice(m.group(1), deliver=deliver)
                with sb.lock:
                    invoice = copy.deepcopy(sb.invoices[m.group(1)])
                return _json(200, {"invoice": invoice, "events": events})
        except SandboxError as exc:
            code = 404 if str(exc).startswith("No such") else 409
            return _json(code, {"error": str(exc)})
        except (KeyError, TypeError, ValueError) as exc:
            return _json(400, {"error": f"bad request: {exc}"})
        return None


# --- threaded loopback server ------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(host: str, port: int, app: Any) -> ThreadingWSGIServer:
    server = _wsgiref_make_server(
        host, port, app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler
    )
    assert isinstance(server, ThreadingWSGIServer)
    return server
