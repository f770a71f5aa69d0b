"""Error types shared by every app. Each carries a message a person can act on."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses; `status` is the HTTP status an API should answer."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Unavailable(ServiceError):
    """An upstream service (Stripe, the panel) could not be reached; try again later."""

    status = 503
    code = "unavailable"


class ConfigurationError(Exception):
    """The installation is misconfigured (missing key, undecryptable secret...)."""
