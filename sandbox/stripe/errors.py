"""Stripe-shaped API errors.

stripe-python picks the exception class from the HTTP status and ``error.type``:
400/404 + ``idempotency_error`` → ``IdempotencyError``; 400/404 → ``InvalidRequestError``;
401 → ``AuthenticationError``; 402 → ``CardError``; 403 → ``PermissionError``;
429 → ``RateLimitError``; anything else → ``APIError``.
"""

from __future__ import annotations

from typing import Any

_DOC_URLS = {
    "resource_missing": "https://stripe.com/docs/error-codes/resource-missing",
    "parameter_missing": "https://stripe.com/docs/error-codes/parameter-missing",
    "parameter_unknown": "https://stripe.com/docs/error-codes/parameter-unknown",
    "parameter_invalid_integer": "https://stripe.com/docs/error-codes/parameter-invalid-integer",
    "parameter_invalid_empty": "https://stripe.com/docs/error-codes/parameter-invalid-empty",
    "checkout_session_not_open": "https://stripe.com/docs/error-codes",
    "card_declined": "https://stripe.com/docs/error-codes/card-declined",
    "charge_already_refunded": "https://stripe.com/docs/error-codes/charge-already-refunded",
    "charge_disputed": "https://stripe.com/docs/error-codes/charge-disputed",
}


class SandboxError(Exception):
    """Misuse of the Python API (e.g. completing a session that is not open)."""


class StripeApiError(Exception):
    """Raised inside request handlers; rendered as ``{"error": {...}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}  # more fields for the error body (decline_code, charge, ...)

    def body(self, request_id: str) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            err["code"] = self.code
            if self.code in _DOC_URLS:
                err["doc_url"] = _DOC_URLS[self.code]
        if self.param:
            err["param"] = self.param
        err.update(self.extra)
        err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": err}


def missing(param: str) -> StripeApiError:
    return StripeApiError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid(param: str, message: str, code: str | None = None) -> StripeApiError:
    return StripeApiError(400, message, code=code, param=param)


def no_such(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    status = 404 if param == "id" else 400
    return StripeApiError(
        status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def unknown_parameter(param: str) -> StripeApiError:
    return StripeApiError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeApiError:
    return StripeApiError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )
