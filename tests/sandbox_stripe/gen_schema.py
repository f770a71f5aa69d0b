"""Generate ``sandbox/stripe/schema.json`` from stripe-python's request-parameter types.

The SDK's ``stripe/params/**`` TypedDicts are generated from Stripe's OpenAPI spec: they name
every parameter an endpoint accepts, which are required, and the allowed values of each enum.
The sandbox must not import ``stripe`` (standard library only), so this tool freezes them into
a JSON table; ``test_schema.py`` fails when the installed SDK and the table drift apart.

    .venv/bin/python tests/sandbox_stripe/gen_schema.py > sandbox/stripe/schema.json
"""

from __future__ import annotations

import builtins
import importlib
import json
import sys
import typing
from typing import Any

import stripe
import typing_extensions
from stripe._request_options import RequestOptions

# (wire endpoint, SDK params module, TypedDict class name)
ENDPOINTS = [
    (
        "POST /v1/checkout/sessions",
        "stripe.params.checkout._session_create_params",
        "SessionCreateParams",
    ),
    (
        "POST /v1/webhook_endpoints",
        "stripe.params._webhook_endpoint_create_params",
        "WebhookEndpointCreateParams",
    ),
    (
        "POST /v1/webhook_endpoints/{id}",
        "stripe.params._webhook_endpoint_update_params",
        "WebhookEndpointUpdateParams",
    ),
    ("POST /v1/coupons", "stripe.params._coupon_create_params", "CouponCreateParams"),
    (
        "POST /v1/promotion_codes",
        "stripe.params._promotion_code_create_params",
        "PromotionCodeCreateParams",
    ),
    (
        "POST /v1/subscriptions/{id}",
        "stripe.params._subscription_update_params",
        "SubscriptionUpdateParams",
    ),
    (
        "DELETE /v1/subscriptions/{id}",
        "stripe.params._subscription_cancel_params",
        "SubscriptionCancelParams",
    ),
    ("POST /v1/refunds", "stripe.params._refund_create_params", "RefundCreateParams"),
    ("POST /v1/prices", "stripe.params._price_create_params", "PriceCreateParams"),
    ("POST /v1/invoices/{id}/pay", "stripe.params._invoice_pay_params", "InvoicePayParams"),
    (
        "POST /v1/billing_portal/sessions",
        "stripe.params.billing_portal._session_create_params",
        "SessionCreateParams",
    ),
    (
        "GET /v1/invoice_payments",
        "stripe.params._invoice_payment_list_params",
        "InvoicePaymentListParams",
    ),
]
REQUEST_OPTIONS = set(RequestOptions.__annotations__)


class _Unknown:
    def __class_getitem__(cls, item: Any) -> Any:
        return typing.Any


class _Namespace(dict):  # type: ignore[type-arg]
    def __init__(self, module: Any) -> None:
        super().__init__()
        self.module = module

    def __missing__(self, key: str) -> Any:
        if hasattr(builtins, key):
            return getattr(builtins, key)
        return getattr(self.module, key, getattr(typing, key, _Unknown))


def _resolve(tp: Any, module: Any) -> Any:
    if isinstance(tp, str):
        tp = eval(tp, {}, _Namespace(module))
    if isinstance(tp, typing.ForwardRef):
        tp = eval(tp.__forward_arg__, {}, _Namespace(module))
    return tp


def spec_of(tp: Any, module: Any, classes: dict[str, Any]) -> Any:
    tp = _resolve(tp, module)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.NotRequired, typing.Required):
        return spec_of(args[0], module, classes)
    if origin is typing.Literal:
        return {"enum": sorted(str(a) for a in args)}
    if origin in (typing.Union, __import__("types").UnionType):
        parts = [spec_of(a, module, classes) for a in args]
        enums = [p for p in parts if isinstance(p, dict) and "enum" in p]
        rest = [p for p in parts if not (isinstance(p, dict) and "enum" in p)]
        # ``Literal[...] | str`` is the SDK's forward compatibility; the API itself is strict.
        if enums and rest == ["str"] and enums != [{"enum": [""]}]:
            rest = []
        merged: list[Any] = []
        if enums:
            merged.append({"enum": sorted({v for e in enums for v in e["enum"]})})
        for p in rest:
            if p not in merged:
                merged.append(p)
        return merged[0] if len(merged) == 1 else {"union": merged}
    if origin in (list, typing.List):  # noqa: UP006
        return {"list": spec_of(args[0], module, classes)}
    if origin in (dict, typing.Dict):  # noqa: UP006
        return "map"
    if tp is str:
        return "str"
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if isinstance(tp, type) and typing_extensions.is_typeddict(tp):
        name = tp.__name__
        if name not in classes:
            classes[name] = None  # reserve (recursion)
            classes[name] = class_spec(tp, module, classes)
        return {"obj": name}
    return "any"


def class_spec(cls: Any, module: Any, classes: dict[str, Any]) -> dict[str, Any]:
    own = {k: v for k, v in cls.__annotations__.items() if k not in REQUEST_OPTIONS}
    required = sorted(k for k in cls.__required_keys__ if k in own)
    return {
        "fields": {k: spec_of(v, module, classes) for k, v in sorted(own.items())},
        "required": required,
    }


def build() -> dict[str, Any]:
    classes: dict[str, Any] = {}
    roots: dict[str, str] = {}
    for endpoint, modname, clsname in ENDPOINTS:
        module = importlib.import_module(modname)
        spec_of(getattr(module, clsname), module, classes)
        roots[endpoint] = clsname
    return {
        "source": f"stripe-python {stripe.VERSION} stripe/params/** (generated from Stripe's "
        "OpenAPI spec) by tests/sandbox_stripe/gen_schema.py; do not edit by hand",
        "sdk_version": stripe.VERSION,
        "roots": roots,
        "classes": classes,
    }


def render(data: dict[str, Any]) -> str:
    """One line per parameter type, so diffs stay readable."""
    lines = ["{"]
    for key in ("source", "sdk_version", "roots"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(data[key], sort_keys=True)},")
    lines.append('  "classes": {')
    names = sorted(data["classes"])
    for i, name in enumerate(names):
        body = json.dumps(data["classes"][name], sort_keys=True, separators=(",", ":"))
        lines.append(f"    {json.dumps(name)}: {body}" + ("," if i < len(names) - 1 else ""))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    print(render(build()), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
