"""Request parsing, normalisation and error/response helpers (Laravel + Fractal conventions)."""

from __future__ import annotations

import json
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENERIC_500 = "An unexpected error was encountered while processing this request, please try again."
NOT_FOUND = "The requested resource could not be found on the server."

#: (status, headers, body) as every handler returns it.
Response = tuple[int, list[tuple[str, str]], bytes]

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


class DroppedConnection(Exception):
    """Raised by the WSGI app when the connection must be closed without any response bytes.

    The sandbox's own HTTP server (``PanelSandbox.serve``) turns it into a closed socket; under
    another WSGI server (or ``httpx.WSGITransport``) it simply propagates to the caller.
    """


class ApiError(Exception):
    """An error rendered in the panel's ``{"errors": [...]}`` shape."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        if self.errors is not None:
            return {"errors": self.errors}
        return {"errors": [{"code": self.code, "status": str(self.status), "detail": self.detail}]}


class ValidationFailed(ApiError):
    def __init__(self, errors: list[tuple[str, str, str]]) -> None:
        super().__init__(
            422,
            "ValidationException",
            errors[0][2] if errors else "",
            errors=[
                {
                    "code": "ValidationException",
                    "status": "422",
                    "detail": message,
                    "meta": {"source_field": source, "rule": rule},
                }
                for source, rule, message in errors
            ],
        )


def not_found() -> ApiError:
    return ApiError(404, "NotFoundHttpException", NOT_FOUND)


def display(detail: str, code: str = "DisplayException", status: int = 400) -> ApiError:
    return ApiError(status, code, detail)


# PCRE \s under the /u flag (Unicode separators and \t\n\v\f\r, U+0085) plus U+FEFF and U+200B.
_TRIM_CHARS = (
    "".join(
        ch
        for ch in map(chr, range(0x3000 + 1))
        if unicodedata.category(ch).startswith("Z") or ch in "\t\n\x0b\x0c\r\x85"
    )
    + "\ufeff\u200b"
)
_TRIM_EXCEPT = ("current_password", "password", "password_confirmation")


def normalise(value: Any, key: str = "") -> Any:
    r"""The panel's global middleware (pterodactyl/panel v1.11.8 app/Http/Kernel.php): Laravel
    10.1.4 TrimStrings (``preg_replace('~^[\s\x{FEFF}\x{200B}]+|[\s\x{FEFF}\x{200B}]+$~u'``,
    except the top-level password fields) then ConvertEmptyStringsToNull, recursively; nested
    keys are dotted (``a.password`` is trimmed)."""
    if isinstance(value, str):
        if key not in _TRIM_EXCEPT:
            value = value.strip(_TRIM_CHARS)
        return None if value == "" else value
    prefix = f"{key}." if key else ""
    if isinstance(value, dict):
        return {k: normalise(v, f"{prefix}{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, f"{prefix}{i}") for i, v in enumerate(value)]
    return value


_BRACKET = re.compile(r"\[([^\]]*)\]")


def parse_php_query(query_string: str) -> dict[str, Any]:
    """Parse ``a[b]=1&c[]=2&d=3`` like PHP does (nested dicts, ``[]`` appends)."""
    result: dict[str, Any] = {}
    for raw_key, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True):
        base, _, rest = raw_key.partition("[")
        parts = [base] + (_BRACKET.findall("[" + rest) if rest else [])
        target: Any = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(target, list):
                if last:
                    target.append(value)
                else:
                    child: Any = [] if parts[i + 1] == "" else {}
                    target.append(child)
                    target = child
                continue
            if part == "" and i > 0:
                part = str(len(target))
            if last:
                target[part] = value
            else:
                nxt = target.get(part)
                if not isinstance(nxt, dict | list):
                    nxt = [] if parts[i + 1] == "" else {}
                    target[part] = nxt
                target = nxt
    return normalise(result)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    base_url: str
    remote_addr: str
    json_error: str | None = None
    input: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def acceptable_types(self) -> list[str]:
        """Symfony's AcceptHeader as Laravel's getAcceptableContentTypes() uses it: entries
        sorted by ``q`` (highest first), ties kept in header order."""
        entries = []
        for index, part in enumerate(self.headers.get("accept", "").split(",")):
            media, *params = [p.strip() for p in part.split(";")]
            if not media:
                continue
            quality = 1.0
            for param in params:
                name, _, value = param.partition("=")
                if name.strip().lower() == "q":
                    try:
                        quality = float(value)
                    except ValueError:
                        quality = 1.0
            entries.append((-quality, index, media))
        return [media for _, _, media in sorted(entries)]

    @property
    def wants_json(self) -> bool:
        """laravel/framework v10.1.4 src/Illuminate/Http/Concerns/InteractsWithContentTypes.php
        ``expectsJson()``: the preferred Accept type contains ``/json`` or ``+json``, or an
        ``X-Requested-With: XMLHttpRequest`` request (not PJAX) that accepts anything."""
        acceptable = self.acceptable_types()
        if acceptable and ("/json" in acceptable[0].lower() or "+json" in acceptable[0].lower()):
            return True
        ajax = self.headers.get("x-requested-with", "") == "XMLHttpRequest"
        any_type = not acceptable or acceptable[0] in ("*/*", "*")
        pjax = self.headers.get("x-pjax", "") not in ("", "0")  # PHP: == true
        return ajax and not pjax and any_type

    def q(self, name: str) -> Any:
        return self.query.get(name)


def parse_body(req: Request) -> None:
    content_type = req.headers.get("content-type", "").lower()
    data: Any = {}
    if ("/json" in content_type or "+json" in content_type) and req.body.strip():
        try:
            data = json.loads(req.body.decode("utf-8"))
        except UnicodeDecodeError:
            req.json_error = "Malformed UTF-8 characters, possibly incorrectly encoded"
        except ValueError:
            req.json_error = "Syntax error"
    if not isinstance(data, dict):
        data = {}
    # Laravel's input() is the body merged over the query string.
    merged = dict(req.query)
    merged.update(normalise(data))
    req.input = merged


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = b"" if payload is None else json.dumps(payload).encode()
    hdrs = list(headers)
    if payload is not None:
        hdrs.append(("Content-Type", "application/json"))
    return status, hdrs, body


def html_error(status: int, title: str) -> bytes:
    text = STATUS_TEXT.get(status, "Error")
    return (
        f'<!DOCTYPE html><html lang="en"><head><title>{text}</title></head>'
        f"<body><h1>{status} | {title}</h1></body></html>"
    ).encode()
