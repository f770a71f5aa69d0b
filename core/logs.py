"""Structured logs with the standard library: a JSON formatter and a per-request/per-task context.

``log_context(order_id=..., stripe_event_id=..., panel_server_id=...)`` binds ids for the code
that runs inside it (contextvars, so threads and tasks each see their own). ``ContextFilter``
copies the bound ids onto every record, so both formats carry them; ``JsonFormatter`` writes one
JSON object per line.

``RedactFilter`` is a last line of defence, not the mechanism: code never logs a secret (a test
proves it over the whole flow); if one slips through anyway, anything shaped like a panel key,
a Stripe key or webhook secret, a bearer token, or equal to a configured secret is masked.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_FIELDS = ("order_id", "stripe_event_id", "panel_server_id")

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "givrwrld_log_context", default=None
)


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Bind ids (None values are skipped) for every log record written inside the block."""
    current = _context.get() or {}
    token = _context.set({**current, **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_bind(**ids: Any) -> None:
    """Add ids to the innermost ``log_context`` (e.g. the server id once the panel answers).
    Outside any ``log_context`` it binds for the rest of the current context."""
    current = _context.get() or {}
    _context.set({**current, **{k: v for k, v in ids.items() if v is not None}})


def log_context_get() -> dict[str, Any]:
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Copies the bound ids onto the record (an explicit ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


# Shapes of secrets we hold: panel keys (ptla_/ptlc_ + 43), Stripe keys, webhook secrets,
# and whatever follows "Bearer ".
_SECRET_SHAPES = re.compile(
    r"(ptl[ac]_[A-Za-z0-9]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9_]{8,}|whsec_[A-Za-z0-9_+/=]{8,}"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{8,})"
)
_SECRET_SETTINGS = (
    "SECRET_KEY",
    "AES_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "INTERNAL_API_TOKEN",
    "METRICS_TOKEN",
)
REDACTED = "[redacted]"


def _configured_secrets() -> list[str]:
    try:
        from django.conf import settings

        values = [str(getattr(settings, name, "") or "") for name in _SECRET_SETTINGS]
    except Exception:  # settings not configured (a bare script): shapes still apply
        return []
    return [v for v in values if len(v) >= 8]


def redact(text: str) -> str:
    for secret in _configured_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _SECRET_SHAPES.sub(REDACTED, text)


class RedactFilter(logging.Filter):
    """Masks secrets in the rendered message (the record is rewritten in place)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the bound ids,
    and the exception text if any."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """The classic line, with the bound ids appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k)]
        if not ids:
            return line
        head, sep, tail = line.partition("\n")
        return f"{head} [{' '.join(ids)}]{sep}{tail}"


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING dict for settings: one console handler, the chosen format, context and
    redaction filters on the handler (so every logger's records pass through them)."""
    if log_format not in ("json", "plain"):
        raise ValueError(f"LOG_FORMAT must be 'json' or 'plain', got {log_format!r}")
    formatter = "core.logs.JsonFormatter" if log_format == "json" else "core.logs.PlainFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "core.logs.ContextFilter"},
            "redact": {"()": "core.logs.RedactFilter"},
        },
        "formatters": {"main": {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # httpx logs every request line at INFO; our panel client records its own calls.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
    }


def with_log_context(*names: str) -> Callable[[F], F]:
    """Decorator: bind the named keyword arguments of each call (``@with_log_context
    ("order_id")`` on ``order_provision(*, order_id)``) for everything it logs."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with log_context(**{n: kwargs.get(n) for n in names}):
                return fn(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
