"""This installation's Stripe webhook endpoint: set up by `manage.py stripe_setup`, checked by
`manage.py doctor`. Both read billing.events: the URL (API_URL + WEBHOOK_PATH), the events we
handle, and the API version we read events at.

Stripe rules followed (Stripe API, "Webhook Endpoints"; stripe/_webhook_endpoint.py in the
SDK): `api_version` is set when an endpoint is created and cannot be updated, so an endpoint at
another version is replaced by a new one; the signing `secret` is returned only by the create
call; `enabled_events` may be `["*"]` (every event).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from billing import stripe_gateway
from billing.events import HANDLED_EVENTS, PINNED_API_VERSION, WEBHOOK_PATH
from core.errors import Unavailable

DESCRIPTION = "GIVRwrld provisioning (manage.py stripe_setup)"


def webhook_url() -> str:
    return f"{settings.API_URL}{WEBHOOK_PATH}"


@dataclass
class SetupResult:
    endpoint_id: str
    action: str  # created | updated | unchanged
    secret: str | None  # only for a created endpoint
    removed: list[str] = field(default_factory=list)  # replaced endpoints at our URL


def webhook_endpoint_setup() -> SetupResult:
    """Make exactly one enabled endpoint at our URL, at the pinned version, with exactly the
    handled events. Others at our URL (another version, or duplicates, which would deliver
    every event twice) are deleted once the right one exists."""
    url = webhook_url()
    ours = [e for e in stripe_gateway.webhook_endpoints_list() if e.get("url") == url]
    keep = next((e for e in ours if e.get("api_version") == PINNED_API_VERSION), None)
    wanted = list(HANDLED_EVENTS)
    if keep is None:
        created = stripe_gateway.webhook_endpoint_create(
            url=url, enabled_events=wanted, api_version=PINNED_API_VERSION, description=DESCRIPTION
        )
        result = SetupResult(str(created["id"]), "created", created.get("secret"))
    else:
        result = SetupResult(str(keep["id"]), "unchanged", None)
        if sorted(keep.get("enabled_events") or []) != sorted(wanted) or (
            keep.get("status") != "enabled"
        ):
            stripe_gateway.webhook_endpoint_update(
                endpoint_id=result.endpoint_id,
                params={"enabled_events": wanted, "disabled": False, "description": DESCRIPTION},
            )
            result.action = "updated"
    for endpoint in ours:
        if endpoint["id"] != result.endpoint_id:
            stripe_gateway.webhook_endpoint_delete(endpoint_id=endpoint["id"])
            result.removed.append(str(endpoint["id"]))
    return result


def webhook_endpoint_problems() -> list[str]:
    """What is wrong with this installation's endpoint, as the account's endpoint list shows
    it (one API call). Each problem names the fix."""
    url = webhook_url()
    fix = "run `manage.py stripe_setup`"
    try:
        endpoints = stripe_gateway.webhook_endpoints_list()
    except (Unavailable, stripe_gateway.StripeRefused) as exc:
        return [f"could not list the Stripe webhook endpoints: {exc}"]
    ours = [e for e in endpoints if e.get("url") == url]
    if not ours:
        return [f"no Stripe webhook endpoint at {url}: {fix}"]
    problems: list[str] = []
    if len(ours) > 1:
        ids = ", ".join(str(e["id"]) for e in ours)
        problems.append(
            f"{len(ours)} webhook endpoints at {url} ({ids}): each event would "
            f"arrive once per endpoint; {fix} (it keeps one)"
        )
    for endpoint in ours:
        name = f"endpoint {endpoint['id']}"
        if endpoint.get("status") != "enabled":
            problems.append(f"{name} is {endpoint.get('status')}: {fix}")
        version = endpoint.get("api_version")
        if version != PINNED_API_VERSION:
            problems.append(
                f"{name} sends events at API version {version or '(account default)'}, this "
                f"installation reads {PINNED_API_VERSION}: {fix} (it replaces the endpoint)"
            )
        enabled = set(endpoint.get("enabled_events") or [])
        if "*" not in enabled:
            missing = [e for e in HANDLED_EVENTS if e not in enabled]
            if missing:
                problems.append(f"{name} does not send {', '.join(missing)}: {fix}")
    return problems
