"""The words customers see for an order's status: one mapping for every page (order page,
My servers, pending payments) and the JSON API's `status_label`. The stored statuses stay the
seed's (`provisioned`, ...) for operators and the monitoring query (billing.models.OrderStatus
has the operator's labels)."""

from __future__ import annotations

STATUS_WORDS: dict[str, str] = {
    "pending": "Waiting for payment",
    "paid": "Paid",
    "provisioning": "Setting up",
    "provisioned": "Ready",
    "error": "Setup delayed",
    "suspended": "Suspended",
    "cancelled": "Cancelled",
    "terminated": "Deleted",
    "refunded": "Refunded",
}


def status_word(status: str) -> str:
    """The customer's word for `status`; an unknown status (a newer release's) is shown
    capitalised rather than raw."""
    return STATUS_WORDS.get(status, status.replace("_", " ").capitalize())
