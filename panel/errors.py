"""Error classes raised by :mod:`panel.client`.

Every failure of a panel call surfaces as a :class:`PanelError` subclass; nothing from httpx
leaks out of this app. The split the provisioning service relies on:

* :class:`PanelRetryableError`: try again later (with backoff). ``outcome_unknown`` says whether
  the panel may already have acted on the request (read timeout, dropped connection, 5xx); after
  such an error a create must be looked up by ``external_id`` before it is retried.
* :class:`PanelTerminalError`: the panel refused the request; sending it again will not help.
* :class:`PanelNotFoundError`: the resource does not exist (404).

Messages carry the panel's ``detail`` text and the endpoint template, never a key.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FieldError",
    "PanelClientKeyMissingError",
    "PanelConflictError",
    "PanelConnectionError",
    "PanelError",
    "PanelNotFoundError",
    "PanelProtocolError",
    "PanelRateLimitedError",
    "PanelRetryableError",
    "PanelServerError",
    "PanelTerminalError",
    "PanelTimeoutError",
    "PanelValidationError",
]


class PanelError(Exception):
    """Base class. ``status`` is the HTTP status (None when no response arrived), ``code`` the
    panel's error code (e.g. ``ValidationException``), ``endpoint`` the call (``POST /servers``)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        endpoint: str = "",
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.endpoint = endpoint
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.endpoint:
            parts.append(self.endpoint)
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, endpoint={self.endpoint!r})"
        )


class PanelRetryableError(PanelError):
    """Transient failure. ``retry_after`` (seconds) when the panel said how long to wait;
    ``outcome_unknown`` is True when the request may have been processed."""

    default_outcome_unknown = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        endpoint: str = "",
        retry_after: float | None = None,
        outcome_unknown: bool | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, endpoint=endpoint)
        self.retry_after = retry_after
        self.outcome_unknown = (
            self.default_outcome_unknown if outcome_unknown is None else outcome_unknown
        )


class PanelConnectionError(PanelRetryableError):
    """Could not connect (outcome_unknown False), or the connection dropped mid-request
    (outcome_unknown True)."""


class PanelTimeoutError(PanelRetryableError):
    """Connect/pool timeout (outcome_unknown False) or read/write timeout (outcome_unknown True)."""


class PanelServerError(PanelRetryableError):
    """5xx: includes 500 ``DataValidationException``/``QueryException`` (allocation or unique
    race) and 502/504 ``DaemonConnectionException`` (Wings down). The panel may have acted."""

    default_outcome_unknown = True


class PanelProtocolError(PanelServerError):
    """The panel answered 2xx but the body was not the JSON we expect (proxy page, wrong URL,
    incompatible panel version). Treated as a server error: the request may have been processed."""


class PanelRateLimitedError(PanelRetryableError):
    """429. ``retry_after`` comes from the ``Retry-After`` header. The request was not processed."""


class PanelTerminalError(PanelError):
    """400, 401, 403, 405, 409 and other 4xx: retrying the same request will not help."""


class PanelClientKeyMissingError(PanelTerminalError):
    """No client API key (``panel.PANEL_CLIENT_KEY``) is configured: client-API calls (live
    state, power) cannot be made. Raised before any request; pages show "state unavailable"."""


class PanelConflictError(PanelTerminalError):
    """409: e.g. client API ``ServerStateConflictException`` (installing, suspended...) or a Wings
    409 relayed on reinstall while a power action runs."""


@dataclass(frozen=True)
class FieldError:
    """One entry of a 422: ``source_field`` is the dotted input path (``allocation.default``,
    ``environment.SERVER_JARFILE``), ``rule`` the snake-cased Laravel rule (``unique``,
    ``exists``)."""

    source_field: str
    rule: str
    detail: str


class PanelValidationError(PanelTerminalError):
    """422. ``errors`` lists every failing (field, rule); the message joins the details."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[FieldError] | None = None,
        status: int | None = 422,
        code: str | None = "ValidationException",
        endpoint: str = "",
    ) -> None:
        super().__init__(message, status=status, code=code, endpoint=endpoint)
        self.errors: list[FieldError] = list(errors or [])

    def has(self, source_field: str, rule: str | None = None) -> bool:
        """True if some entry is for ``source_field`` (and ``rule``, when given)."""
        return any(
            e.source_field == source_field and (rule is None or e.rule == rule) for e in self.errors
        )

    @property
    def fields(self) -> set[str]:
        return {e.source_field for e in self.errors}


class PanelNotFoundError(PanelError):
    """404: unknown id or external id, egg not in that nest, or unknown route."""
