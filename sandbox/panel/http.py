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


_JSON_MAX_DEPTH = 511  # json_decode(..., 512): the 512th nested array/object is refused
_SYNTAX = "Syntax error"
_UTF8 = "Malformed UTF-8 characters, possibly incorrectly encoded"
_CTRL = "Control character error, possibly incorrectly encoded"
_UTF16 = "Single unpaired UTF-16 surrogate in unicode escape"
_DEPTH = "Maximum stack depth exceeded"
_MISMATCH = "State mismatch (invalid or malformed JSON)"
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")


class _JsonError(Exception):
    pass


def _utf8_length(body: bytes, i: int) -> int:
    """Length of the valid UTF-8 sequence at ``i``, or 0."""
    for n in (2, 3, 4):
        try:
            body[i : i + n].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return n
    return 0


class _Scanner:
    """The token stream of PHP's ext/json scanner (json_scanner.re), one token at a time, so
    that the first problem in the text is the one reported, as PHP reports it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.i = 0

    def next(self) -> str:
        b, n = self.body, len(self.body)
        while self.i < n and b[self.i] in b" \t\n\r":
            self.i += 1
        if self.i >= n:
            return "EOI"
        c = b[self.i]
        if c in b"{}[]:,":
            self.i += 1
            return chr(c)
        for word in (b"true", b"false", b"null"):
            if b.startswith(word, self.i):
                self.i += len(word)
                return "literal"
        m = _NUMBER.match(b, self.i)
        if m:
            self.i = m.end()
            return "number"
        if c == 0x22:
            self._string()
            return "string"
        if c < 0x20:
            raise _JsonError(_CTRL)
        if c >= 0x80 and not _utf8_length(b, self.i):
            raise _JsonError(_UTF8)
        raise _JsonError(_SYNTAX)

    def _string(self) -> None:
        b, n = self.body, len(self.body)
        i = self.i + 1
        while True:
            if i >= n:  # the scanner meets the terminating NUL inside the string
                raise _JsonError(_CTRL)
            c = b[i]
            if c == 0x22:
                self.i = i + 1
                return
            if c < 0x20:
                raise _JsonError(_CTRL)
            if c == 0x5C:
                esc = b[i + 1 : i + 2]
                if esc and esc in b'"\\/bfnrt':
                    i += 2
                    continue
                if esc == b"u" and _HEX4.fullmatch(b[i + 2 : i + 6]):
                    unit = int(b[i + 2 : i + 6], 16)
                    if 0xD800 <= unit <= 0xDBFF:
                        low = b[i + 6 : i + 12]
                        if (
                            low[:2] == b"\\u"
                            and _HEX4.fullmatch(low[2:])
                            and 0xDC00 <= int(low[2:], 16) <= 0xDFFF
                        ):
                            i += 12
                            continue
                        raise _JsonError(_UTF16)
                    if 0xDC00 <= unit <= 0xDFFF:
                        raise _JsonError(_UTF16)
                    i += 6
                    continue
                raise _JsonError(_SYNTAX)
            if c >= 0x80:
                size = _utf8_length(b, i)
                if not size:
                    raise _JsonError(_UTF8)
                i += size
                continue
            i += 1


def _parse_value(scanner: _Scanner, token: str, depth: int) -> None:
    if token in ("literal", "number", "string"):
        return
    if token not in ("[", "{"):
        raise _JsonError(_SYNTAX)
    if depth + 1 > _JSON_MAX_DEPTH:
        raise _JsonError(_DEPTH)
    close, other = ("]", "}") if token == "[" else ("}", "]")
    token = scanner.next()
    if token == close:
        return
    if token == other:  # json_parser.y object_end / array_end: the wrong closer
        raise _JsonError(_MISMATCH)
    while True:
        if close == "}":
            if token != "string":
                raise _JsonError(_SYNTAX)
            if scanner.next() != ":":
                raise _JsonError(_SYNTAX)
            token = scanner.next()
        _parse_value(scanner, token, depth + 1)
        token = scanner.next()
        if token == close:
            return
        if token == other:
            raise _JsonError(_MISMATCH)
        if token != ",":
            raise _JsonError(_SYNTAX)
        token = scanner.next()


def json_error(body: bytes) -> tuple[str | None, Any]:
    """``json_decode($content, true, 512, JSON_THROW_ON_ERROR)`` as
    app/Http/Middleware/Api/IsValidJson.php runs it: (the JsonException message or None, the
    decoded value). PHP's scanner and parser work token by token, so the first problem in the
    text decides the message."""
    scanner = _Scanner(body)
    try:
        _parse_value(scanner, scanner.next(), 0)
        if scanner.next() != "EOI":
            raise _JsonError(_SYNTAX)
    except _JsonError as exc:
        return str(exc), None
    except RecursionError:
        return _DEPTH, None
    return None, json.loads(body.decode("utf-8"))


def parse_body(req: Request) -> None:
    """Laravel 10.1.4 ``Request::isJson()`` (Content-Type contains ``/json`` or ``+json``, case
    as sent) picks the JSON body; otherwise a POST, or a PUT/PATCH/DELETE sent as
    ``application/x-www-form-urlencoded``, carries form fields (Symfony's Request). ``input()`` is
    that source over the query string. IsValidJson checks only a body PHP does not find
    ``empty()`` (so not "" and not "0")."""
    content_type = req.headers.get("content-type", "")
    data: Any = {}
    if "/json" in content_type or "+json" in content_type:
        if req.body not in (b"", b"0"):
            req.json_error, data = json_error(req.body)
    elif content_type.lower().startswith("application/x-www-form-urlencoded") and (
        req.method in ("POST", "PUT", "PATCH", "DELETE")
    ):
        data = parse_php_query(req.body.decode("utf-8", "replace"))
    if not isinstance(data, dict):
        data = {}
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
