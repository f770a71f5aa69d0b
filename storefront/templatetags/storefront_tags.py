"""Formatting for the customer pages: money from the catalogue's cents, sizes from MiB."""

from __future__ import annotations

from django import template

register = template.Library()

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}
_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}


@register.filter
def money(cents: int | None, currency: str = "usd") -> str:
    """`800, "usd"` → `$8.00`; unknown currencies as `8.00 CHF`."""
    if cents is None:
        return ""
    code = (currency or "usd").lower()
    amount = f"{cents:,}" if code in _ZERO_DECIMAL else f"{cents / 100:,.2f}"
    symbol = _SYMBOLS.get(code)
    return f"{symbol}{amount}" if symbol else f"{amount} {code.upper()}"


@register.filter
def mib(value: int | None) -> str:
    """Panel sizes (MiB) for people: `2048` → `2 GB`, `0` → `unlimited`."""
    if not value:
        return "unlimited"
    if value >= 1024:
        gb = value / 1024
        return f"{gb:g} GB" if gb == int(gb) else f"{gb:.1f} GB"
    return f"{value} MB"


@register.filter
def cores(percent: int | None) -> str:
    """The panel's CPU limit (percent of one core) as cores: `200` → `2 vCPU`."""
    if not percent:
        return "unlimited CPU"
    n = percent / 100
    return f"{n:g} vCPU"


@register.filter
def customer_status(status: str) -> str:
    """`provisioned` → `Ready`: the customer's word (storefront/words.py)."""
    from storefront.words import status_word

    return status_word(status or "")


@register.filter
def live_for(states: dict | None, order: object) -> object:
    """The live state of `order` from the page's `{order_id: LiveState}` (None if none)."""
    if not states:
        return None
    return states.get(getattr(order, "pk", None))


@register.simple_tag
def has_subscription(user: object) -> bool:
    """Whether the customer has a subscription (the profile's billing portal button)."""
    from billing.portal import customer_has_subscription

    pk = getattr(user, "pk", None)
    return bool(pk) and customer_has_subscription(user_id=int(pk))  # type: ignore[arg-type]
