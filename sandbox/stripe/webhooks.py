"""Webhook endpoints as objects, and signed delivery of each event to the endpoints that want it.

Stripe API reference "Webhook Endpoints" (stripe/_webhook_endpoint.py in the SDK, params
WebhookEndpointCreateParams / WebhookEndpointUpdateParams): an account has up to 16 endpoints;
each has a ``url``, ``enabled_events`` (event types, or ``*`` for all), an optional pinned
``api_version`` (``null``: the account's default version), a ``status`` (``enabled`` /
``disabled``) and its own signing ``secret``, returned only by the create call. An event is
sent to every enabled endpoint whose ``enabled_events`` match its type at the time the event
happens, signed with that endpoint's secret, with the event's ``api_version`` set to the
endpoint's version.

Mixed into :class:`sandbox.stripe.core.StripeSandbox`.
"""

from __future__ import annotations

import copy
import inspect
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import objects
from .errors import SandboxError, StripeApiError, invalid, no_such
from .signing import signature_header
from .validation import API_VERSIONS, EVENT_TYPES, validate_params

MAX_ENDPOINTS = 16  # Stripe: "You can configure up to 16 webhook endpoints" (Webhooks docs)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Stripe treats redirects as failed deliveries; so does the sandbox."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _takes_url(callback: Callable[..., int]) -> bool:
    try:
        return "url" in inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return False


class WebhookMixin:
    """Endpoint objects (``/v1/webhook_endpoints``) and per-endpoint delivery."""

    # provided by StripeSandbox
    lock: Any
    knobs: dict[str, Any]
    events: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    webhook_endpoints: dict[str, dict[str, Any]]
    webhook_secrets: dict[str, str]
    event_targets: dict[str, list[str]]
    deliver_callback: Callable[..., int] | None
    webhook_secret: str | None
    account_api_version: str

    if TYPE_CHECKING:

        def now(self) -> int: ...

        def _save(self) -> None: ...

        @property
        def webhooks_enabled(self) -> bool: ...

    # --- endpoints ----------------------------------------------------------------------

    def add_webhook_endpoint(
        self,
        url: str,
        *,
        enabled_events: list[str] | None = None,
        api_version: str | None = None,
        secret: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Python API: create an endpoint (``secret`` chosen by the caller or generated).
        Returns the object *with* its ``secret``, like the create call."""
        params: dict[str, Any] = {"url": url, "enabled_events": list(enabled_events or ["*"])}
        if api_version is not None:
            params["api_version"] = api_version
        if description is not None:
            params["description"] = description
        if metadata:
            params["metadata"] = metadata
        try:
            return self.create_webhook_endpoint(params, secret=secret)
        except StripeApiError as exc:
            raise SandboxError(exc.message) from exc

    def create_webhook_endpoint(
        self, p: dict[str, Any], *, secret: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/webhook_endpoints``."""
        from .core import check_metadata

        validate_params("POST /v1/webhook_endpoints", p)
        url = self._endpoint_url(p["url"])
        events = self._enabled_events(p["enabled_events"])
        if p.get("connect") is True:
            raise invalid(
                "connect", "The Stripe sandbox has no Connect: connect=true is not supported."
            )
        metadata = check_metadata(p.get("metadata"))
        with self.lock:
            if len(self.webhook_endpoints) >= MAX_ENDPOINTS:
                raise StripeApiError(
                    400,
                    f"You have reached the maximum of {MAX_ENDPOINTS} test webhook endpoints.",
                    param="url",
                )
            we_id = objects.new_id("we")
            we: dict[str, Any] = {
                "api_version": p.get("api_version"),
                "application": None,
                "created": self.now(),
                "description": p.get("description") or None,
                "enabled_events": events,
                "id": we_id,
                "livemode": False,
                "metadata": metadata,
                "object": "webhook_endpoint",
                "status": "enabled",
                "url": url,
            }
            self.webhook_endpoints[we_id] = we
            self.webhook_secrets[we_id] = secret or "whsec_" + objects.rand(32)
            self._save()
            # the secret is only ever returned here (stripe/_webhook_endpoint.py: secret)
            return {**copy.deepcopy(we), "secret": self.webhook_secrets[we_id]}

    def update_webhook_endpoint(self, we_id: str, p: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/webhook_endpoints/{id}``: url, enabled_events, disabled, description,
        metadata (merged; ``""`` unsets a key)."""
        from .core import check_metadata

        validate_params("POST /v1/webhook_endpoints/{id}", p)
        with self.lock:
            we = self.webhook_endpoints.get(we_id)
            if we is None:
                raise no_such("webhook_endpoint", we_id)
            changes: dict[str, Any] = {}
            if "url" in p:
                changes["url"] = self._endpoint_url(p["url"])
            if "enabled_events" in p:
                changes["enabled_events"] = self._enabled_events(p["enabled_events"])
            if "disabled" in p:
                changes["status"] = "disabled" if p["disabled"] else "enabled"
            if "description" in p:
                changes["description"] = p["description"] or None
            if "metadata" in p:
                raw = p["metadata"]
                checked = check_metadata(raw)
                merged = {} if raw == "" else dict(we["metadata"])
                if isinstance(raw, dict):
                    for key, value in raw.items():
                        if value == "":
                            merged.pop(key, None)
                merged.update(checked)
                changes["metadata"] = merged
            we.update(changes)
            self._save()
            return copy.deepcopy(we)

    def delete_webhook_endpoint(self, we_id: str) -> dict[str, Any]:
        with self.lock:
            if we_id not in self.webhook_endpoints:
                raise no_such("webhook_endpoint", we_id)
            del self.webhook_endpoints[we_id]
            self.webhook_secrets.pop(we_id, None)
            self._save()
        return {"id": we_id, "object": "webhook_endpoint", "deleted": True}

    def endpoint_secret(self, we_id: str) -> str:
        """Python API: an endpoint's signing secret (the Dashboard's "Reveal secret")."""
        with self.lock:
            if we_id not in self.webhook_secrets:
                raise SandboxError(f"No such webhook_endpoint: '{we_id}'")
            return self.webhook_secrets[we_id]

    @staticmethod
    def _endpoint_url(raw: Any) -> str:
        url = str(raw)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid("url", f"Invalid URL: {url}", code="url_invalid")
        return url

    @staticmethod
    def _enabled_events(raw: Any) -> list[str]:
        events = [str(e) for e in raw]
        if not events:
            raise invalid(
                "enabled_events", "You must specify at least one event type in enabled_events."
            )
        return list(dict.fromkeys(events))

    # --- which endpoints get an event ---------------------------------------------------

    def _targets_for(self, event_type: str) -> list[str]:
        """Endpoints to deliver a new event of ``event_type`` to (decided when it happens)."""
        return [
            we["id"]
            for we in self.webhook_endpoints.values()
            if we["status"] == "enabled"
            and ("*" in we["enabled_events"] or event_type in we["enabled_events"])
        ]

    def targets_of(self, event: dict[str, Any]) -> list[str]:
        with self.lock:
            targets = self.event_targets.get(event["id"])
            if targets is None:
                targets = self._targets_for(event["type"])
                self.event_targets[event["id"]] = targets
            return list(targets)

    def _delivered_ok(self, event_id: str) -> set[str]:
        """Endpoints that acknowledged the event (an index over ``deliveries``, so listing
        events stays linear)."""
        index: dict[str, set[str]] | None = getattr(self, "_ok_index", None)
        if index is None or getattr(self, "_ok_indexed", -1) != len(self.deliveries):
            index = {}
            for d in self.deliveries:
                if d["ok"]:
                    index.setdefault(d["event_id"], set()).add(d.get("endpoint", ""))
            self._ok_index = index
            self._ok_indexed = len(self.deliveries)
        return index.get(event_id, set())

    def pending_endpoints(self, event: dict[str, Any]) -> list[str]:
        """Target endpoints (still existing) without a successful delivery of ``event``."""
        with self.lock:
            done = self._delivered_ok(event["id"])
            return [
                t for t in self.targets_of(event) if t not in done and t in self.webhook_endpoints
            ]

    def delivery_succeeded(self, event_id: str) -> bool:
        """True once every endpoint the event was sent to answered 2xx (``delivery_success``)."""
        with self.lock:
            targets = self.event_targets.get(event_id)
            if not targets:
                return False
            done = self._delivered_ok(event_id)
            return all(t in done for t in targets if t in self.webhook_endpoints)

    # --- delivery -------------------------------------------------------------------------

    def render_for_endpoint(self, event: dict[str, Any], we: dict[str, Any]) -> dict[str, Any]:
        """The payload as this endpoint receives it: ``api_version`` is the endpoint's (or the
        account default). The object shapes stay the sandbox's one (current) version."""
        out = copy.deepcopy(event)
        out["api_version"] = we["api_version"] or self.account_api_version
        return out

    def sign(self, payload: str, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """A ``Stripe-Signature`` header value for ``payload`` (default: the sandbox's
        ``webhook_secret``, the default endpoint's secret)."""
        ts = self.now() if timestamp is None else int(timestamp)
        key = secret or self.webhook_secret
        if not key:
            raise SandboxError("no secret: pass secret= (no default webhook endpoint secret)")
        return signature_header(payload, ts, key)

    def deliver(self, event: dict[str, Any], *, endpoint: str | None = None) -> int:
        """Send ``event`` to each endpoint it was meant for (or only to ``endpoint``).

        Serialises once per endpoint, signs with that endpoint's secret, POSTs (or calls the
        ``deliver`` callback); records every attempt. Returns the receiver's HTTP status (the
        first failing one when there are several endpoints), ``0`` for a connection failure,
        or ``0`` without recording anything when webhooks are off or nobody wants the event.
        """
        if not self.webhooks_enabled:
            return 0
        with self.lock:
            targets = self.targets_of(event)
            if endpoint is not None:
                targets = [t for t in targets if t == endpoint]
            endpoints = [
                copy.deepcopy(self.webhook_endpoints[t])
                for t in targets
                if t in self.webhook_endpoints
            ]
        statuses = [self._deliver_one(event, we) for we in endpoints]
        if not statuses:
            return 0
        failing = [s for s in statuses if not 200 <= s < 300]
        return failing[0] if failing else statuses[-1]

    def _deliver_one(self, event: dict[str, Any], we: dict[str, Any]) -> int:
        body = json.dumps(self.render_for_endpoint(event, we), indent=2)
        timestamp = self.now()
        with self.lock:
            secret = self.webhook_secrets[we["id"]]
        header = signature_header(body, timestamp, secret)
        started = time.monotonic()
        error: str | None = None
        callback = self.deliver_callback
        if callback is not None:
            if _takes_url(callback):
                status = int(callback(body, header, url=we["url"]))
            else:
                status = int(callback(body, header))
        else:
            status, error = self._post(we["url"], body, header)
        record = {
            "id": "whdel_" + objects.rand(24),
            "event_id": event["id"],
            "type": event["type"],
            "endpoint": we["id"],
            "url": we["url"] if callback is None else f"callback ({we['url']})",
            "status": status,
            "ok": 200 <= status < 300,
            "error": error,
            "created": timestamp,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "signature": header,
            "payload": body,
        }
        with self.lock:
            self.deliveries.append(record)
            self._save()
        return status

    @staticmethod
    def _post(url: str, body: str, header: str) -> tuple[int, str | None]:
        if urlsplit(url).scheme not in ("http", "https"):
            return 0, f"unsupported webhook URL {url!r}"
        req = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Cache-Control": "no-cache",
            },
        )
        try:
            with _OPENER.open(req, timeout=10) as resp:
                return int(resp.status), None
        except urllib.error.HTTPError as exc:
            return int(exc.code), None if exc.code < 300 else f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc)

    def redeliver(self, event_id: str, *, endpoint: str | None = None) -> int:
        """Re-send an event (fresh signature timestamp) to all its endpoints, or one."""
        with self.lock:
            event = next((e for e in self.events if e["id"] == event_id), None)
        if event is None:
            raise SandboxError(f"No such event: '{event_id}'")
        if endpoint is not None and endpoint not in self.targets_of(event):
            raise SandboxError(f"Event {event_id} was not sent to {endpoint}")
        return self.deliver(event, endpoint=endpoint)

    def redeliver_failed(self) -> dict[str, int]:
        """Re-send every event to each endpoint that has not acknowledged it yet (Stripe's
        automatic retries, run on demand)."""
        with self.lock:
            todo = [(e, self.pending_endpoints(e)) for e in self.events]
        out: dict[str, int] = {}
        for event, pending in todo:
            for we_id in pending:
                out[event["id"]] = self.deliver(event, endpoint=we_id)
        return out


def validate_api_version(value: str) -> None:
    """``Stripe-Version`` header: one of Stripe's API versions (else 400, as Stripe)."""
    if value not in API_VERSIONS:
        raise StripeApiError(
            400,
            f"Invalid Stripe API version: {value}",
        )  # Stripe's answer: 400 invalid_request_error, no code/param (stripe/stripe-java#682)


__all__ = ["EVENT_TYPES", "MAX_ENDPOINTS", "WebhookMixin", "validate_api_version"]
