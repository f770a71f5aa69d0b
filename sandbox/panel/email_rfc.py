"""Laravel's ``email`` rule as pterodactyl/panel v1.11.8 runs it.

The panel's user rule is ``email`` with no parameter (pterodactyl/panel v1.11.8
app/Models/User.php ``$validationRules``). Laravel v10.1.4 (the panel's composer.lock)
implements that in src/Illuminate/Validation/Concerns/ValidatesAttributes.php
``validateEmail``: a non-string fails, otherwise egulias/email-validator 4.0.1's
``RFCValidation`` decides. RFCValidation refuses an address only on an *error*; its warnings
(quoted local part, comments, no TLD, length over 254, ...) do not fail the rule.

This module re-implements the decisions of that validator (src/EmailLexer.php,
src/Parser/LocalPart.php, DomainPart.php, DoubleQuote.php, FoldingWhiteSpace.php,
Comment.php, DomainLiteral.php of egulias/email-validator 4.0.1) over the same token
stream, so the sandbox refuses exactly what a real panel refuses, e.g.:

* ``john..doe@x.com`` (ConsecutiveDot), ``.john@x.com`` (DotAtStart), ``john.@x.com`` (DotAtEnd);
* ``a@-x.com`` / ``a@x-.com`` / ``a@x.com-`` (DomainHyphened), ``a@x..com``, ``a@x.com.``;
* a label over 63 characters (LabelTooLong), a domain over 253 (DomainTooLong);
* ``a b@x.com``, ``a@x_y.com``, ``a,b@x.com``, ``a@x.com@y.com``, ``@x.com``, ``a@``.

and accepts what it accepts, e.g. ``a@localhost``, ``"john doe"@x.com``, ``a@[127.0.0.1]``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Token types (src/EmailLexer.php constants).
EMPTY = -1
NUL = 0
HTAB = 9
LF = 10
CR = 13
SP = 32
DQUOTE = 34
OPENPAREN = 40
CLOSEPAREN = 41
COMMA = 44
HYPHEN = 45
DOT = 46
SLASH = 47
COLON = 58
SEMICOLON = 59
LOWERTHAN = 60
GREATERTHAN = 62
AT = 64
OPENBRACKET = 91
BACKSLASH = 92
CLOSEBRACKET = 93
DEL = 127
GENERIC = 300
IPV6TAG = 301
INVALID = 302
CRLF = 1310
DOUBLECOLON = 5858

_CHAR_TYPES: dict[str, int] = {
    "{": 123,
    "}": 125,
    "(": OPENPAREN,
    ")": CLOSEPAREN,
    "<": LOWERTHAN,
    ">": GREATERTHAN,
    "[": OPENBRACKET,
    "]": CLOSEBRACKET,
    ":": COLON,
    ";": SEMICOLON,
    "@": AT,
    "\\": BACKSLASH,
    "/": SLASH,
    ",": COMMA,
    ".": DOT,
    "'": 39,
    "`": 96,
    '"': DQUOTE,
    "-": HYPHEN,
    "::": DOUBLECOLON,
    " ": SP,
    "\t": HTAB,
    "\r": CR,
    "\n": LF,
    "\r\n": CRLF,
    "IPv6": IPV6TAG,
    "": EMPTY,
    "\\0": NUL,  # the PHP source spells it '\0' in single quotes: backslash + zero
    "*": 42,
    "!": 33,
    "&": 38,
    "^": 94,
    "$": 36,
    "%": 37,
    "~": 126,
    "|": 124,
    "_": 95,
    "=": 61,
    "+": 43,
    "¿": 168,
    "?": 63,
    "#": 35,
    "¡": 173,
}

# src/EmailLexer.php CATCHABLE_PATTERNS with the 'iu' modifiers.
_TOKEN_RE = re.compile(r"[a-zA-Z]+[46]?|[^\x00-\x7F]|[0-9]+|\r\n|::|\s|.", re.DOTALL)

_LOCAL_INVALID = {COMMA, CLOSEBRACKET, OPENBRACKET, GREATERTHAN, LOWERTHAN, COLON, SEMICOLON}
_LOCAL_INVALID.add(INVALID)
_FWS = {SP, HTAB, CR, LF, CRLF}


@dataclass(frozen=True)
class _Token:
    value: str
    type: int


_NULL = _Token("", EMPTY)


def _is_symbol_or_other(text: str) -> bool:
    """``!preg_match('/[^\\p{S}\\p{C}\\p{Cc}]+/iu', $value)``: every character is S* or C*."""
    return all(unicodedata.category(c)[0] in "SC" for c in text)


def _type_of(value: str) -> int:
    if value in _CHAR_TYPES:
        return _CHAR_TYPES[value]
    if value == "\0":
        return NUL
    if _is_symbol_or_other(value):
        return INVALID
    return GENERIC


class _Lexer:
    """doctrine/lexer's AbstractLexer as src/EmailLexer.php extends it."""

    def __init__(self, text: str) -> None:
        self.tokens = [_Token(m.group(0), _type_of(m.group(0))) for m in _TOKEN_RE.finditer(text)]
        self.has_invalid = any(t.type == INVALID for t in self.tokens)
        self.position = 0
        self.lookahead: _Token | None = None
        self.current = _NULL
        self.previous = _NULL
        self.index = -1  # index of ``current`` in ``tokens`` (len(tokens) past the end)
        self._lookahead_index = -1

    def move_next(self) -> bool:
        self.previous = self.current
        token = self.lookahead if self.lookahead is not None else _NULL
        self.index = self._lookahead_index if self.lookahead is not None else len(self.tokens)
        if self.position < len(self.tokens):
            self.lookahead = self.tokens[self.position]
            self._lookahead_index = self.position
            self.position += 1
        else:
            self.lookahead = None
        self.current = token
        return self.lookahead is not None

    def is_next(self, *types: int) -> bool:
        return self.lookahead is not None and self.lookahead.type in types

    def find(self, kind: int) -> bool:
        """True if a token of ``kind`` comes at or after the lookahead."""
        if self.lookahead is not None and self.lookahead.type == kind:
            return True
        return any(t.type == kind for t in self.tokens[self.position :])


class _Invalid(Exception):
    """An egulias InvalidEmail result (the reason is the message)."""


def _escaped(lx: _Lexer) -> bool:
    return lx.previous.type == BACKSLASH and lx.current.type != GENERIC


def _fws(lx: _Lexer) -> None:
    """src/Parser/FoldingWhiteSpace.php."""
    if _escaped(lx) or lx.current.type not in _FWS:
        return
    previous = lx.previous
    if lx.current.type == CRLF and not lx.is_next(SP, HTAB):
        raise _Invalid("CRLFX2")
    if lx.current.type == CR:
        raise _Invalid("CRNoLF")
    if lx.is_next(GENERIC) and previous.type != AT:
        raise _Invalid("AtextAfterCFWS")
    if lx.current.type in (LF, NUL):
        raise _Invalid("ExpectingCTEXT")


def _comment(lx: _Lexer, *, local: bool) -> None:
    """src/Parser/Comment.php with LocalComment / DomainComment."""
    opened = 0
    if lx.current.type == OPENPAREN:
        opened += 1
        if not lx.find(CLOSEPAREN):
            raise _Invalid("UnclosedComment")
    if lx.current.type == CLOSEPAREN:
        raise _Invalid("UnOpenedComment")
    more = True

    def keep_going() -> bool:
        if local:
            return not lx.is_next(AT)
        return not (opened == 0 and lx.is_next(DOT))

    while keep_going() and more:
        if lx.is_next(OPENPAREN):
            opened += 1
        if lx.is_next(CLOSEPAREN):
            opened -= 1
        more = lx.move_next()
    if opened >= 1:
        raise _Invalid("UnclosedComment")
    if opened < 0:
        raise _Invalid("UnOpenedComment")
    if local and not lx.is_next(AT):
        raise _Invalid("ExpectingATEXT: ATEX is not expected after closing comments")
    if not local and not lx.is_next(DOT):
        raise _Invalid("ExpectingATEXT: DOT not found near CLOSEPARENTHESIS")


def _check_dquote(lx: _Lexer) -> None:
    if lx.is_next(GENERIC) and lx.previous.type == GENERIC:
        raise _Invalid("ExpectingATEXT: quoted string should be a unit")
    if not lx.find(DQUOTE):
        raise _Invalid("UnclosedQuotedString")


def _double_quote(lx: _Lexer) -> None:
    """src/Parser/DoubleQuote.php."""
    _check_dquote(lx)
    lx.move_next()
    while lx.current.type not in (DQUOTE, EMPTY):
        if lx.current.type == BACKSLASH and lx.is_next(DQUOTE):
            lx.move_next()
        lx.move_next()
        if not _escaped(lx) and lx.current.type in (NUL, HTAB, CR, LF):
            raise _Invalid("ExpectingATEXT between DQUOTE")
    prev = lx.previous
    if prev.type == BACKSLASH:
        _check_dquote(lx)
    if not lx.is_next(AT) and prev.type != BACKSLASH:
        raise _Invalid("ExpectingATEXT between DQUOTE")


def _local_part(lx: _Lexer) -> None:
    """src/Parser/LocalPart.php."""
    while lx.current.type not in (AT, EMPTY):
        if lx.current.type == DOT and lx.previous.type == EMPTY:
            raise _Invalid("DotAtStart")
        if lx.current.type == DQUOTE:
            _double_quote(lx)
        if lx.current.type in (OPENPAREN, CLOSEPAREN):
            _comment(lx, local=True)
        if lx.current.type == DOT and lx.is_next(DOT):
            raise _Invalid("ConsecutiveDot")
        if lx.current.type == DOT and lx.is_next(AT):
            raise _Invalid("DotAtEnd")
        if lx.current.type == BACKSLASH and lx.is_next(GENERIC):
            raise _Invalid("ExpectingATEXT: Found ATOM after escaping")
        if lx.current.type in _LOCAL_INVALID:
            raise _Invalid("ExpectingATEXT: Invalid token found")
        _fws(lx)
        lx.move_next()


def _label_too_long(label: str) -> bool:
    if re.search(r"[^\x00-\x7F]", label):
        # idn_to_ascii(..., IDNA_DEFAULT, INTL_IDNA_VARIANT_UTS46): the ACE form over 63 octets.
        try:
            ace = label.encode("idna")
        except UnicodeError:
            try:
                ace = b"xn--" + label.lower().encode("punycode")
            except UnicodeError:
                return False
        return len(ace) > 63
    return len(label) > 63


def _domain_literal(lx: _Lexer) -> None:
    """src/Parser/DomainLiteral.php: only these cases are errors, the rest are warnings."""
    while True:
        if lx.current.type == NUL:
            raise _Invalid("ExpectingDTEXT")
        if lx.is_next(OPENBRACKET):
            raise _Invalid("ExpectingDTEXT")
        if lx.is_next(HTAB, SP, CRLF):
            pass  # FoldingWhiteSpace is parsed but its result is ignored here
        if lx.is_next(CR):
            raise _Invalid("CRNoLF")
        if lx.current.type == BACKSLASH:
            raise _Invalid("UnusualElements")
        if lx.current.type == CLOSEBRACKET:
            break
        if not lx.move_next():
            # doctrine's moveNext() answers false when the *lookahead* runs out; the loop
            # condition stops there, with the current token still the last one.
            break


def _domain_part(lx: _Lexer) -> None:
    """src/Parser/DomainPart.php."""
    at_index = lx.index
    lx.move_next()
    if lx.current.type == DOT:
        raise _Invalid("DotAtStart")
    if lx.current.type == HYPHEN:
        raise _Invalid("DomainHyphened: After AT")
    if lx.current.type == EMPTY or (lx.current.type == SP and not lx.is_next(GENERIC)):
        raise _Invalid("NoDomainPart")
    if lx.current.type == AT:
        raise _Invalid("ConsecutiveAt")
    label = ""
    has_comments = False
    literal = False
    while True:
        prev = lx.previous
        if lx.current.type in (BACKSLASH, SLASH):
            raise _Invalid("CharNotAllowed")
        if lx.current.type in (OPENPAREN, CLOSEPAREN):
            has_comments = True
            _comment(lx, local=False)
        if lx.current.type == DOT and lx.is_next(DOT):
            raise _Invalid("ConsecutiveDot")
        if lx.current.type == OPENBRACKET:
            if not lx.find(CLOSEBRACKET):
                raise _Invalid("ExpectingDomainLiteralClose")
            _domain_literal(lx)
            literal = True
            break
        if lx.current.type == DOT:
            if _label_too_long(label):
                raise _Invalid("LabelTooLong")
            label = ""
        label += lx.current.value
        _fws(lx)
        if lx.current.type == OPENBRACKET and prev.type != AT:
            raise _Invalid("ExpectingATEXT: OPENBRACKET not after AT")
        if lx.current.type == HYPHEN and lx.is_next(DOT):
            raise _Invalid("DomainHyphened: Hypen found near DOT")
        if lx.current.type == BACKSLASH and lx.is_next(GENERIC):
            raise _Invalid("ExpectingATEXT: Escaping following ATOM")
        valid = {GENERIC, HYPHEN, DOT} | ({OPENPAREN, CLOSEPAREN} if has_comments else set())
        if lx.current.type not in valid:
            raise _Invalid(f"ExpectingATEXT: Invalid token in domain: {lx.current.value}")
        lx.move_next()
        if lx.current.type == EMPTY:
            break
    if not literal and _label_too_long(label):
        raise _Invalid("LabelTooLong")
    prev = lx.previous
    if prev.type == DOT:
        raise _Invalid("DotAtEnd")
    if prev.type == HYPHEN:
        raise _Invalid("DomainHyphened: Hypen found at the end of the domain")
    if lx.current.type == SP:
        raise _Invalid("CRLFAtTheEnd")
    # The recorded domain: every token after '@' up to and including the current one.
    recorded = "".join(t.value for t in lx.tokens[at_index + 1 : lx.index + 1])
    if len(recorded.encode("utf-8")) > 253:
        raise _Invalid("DomainTooLong")


def rfc_reason(value: str) -> str | None:
    """Why egulias RFCValidation refuses ``value``; ``None`` when it accepts it."""
    lx = _Lexer(value)
    if lx.has_invalid:
        return "ExpectingATEXT: Invalid tokens found"
    lx.move_next()
    lx.move_next()
    if lx.current.type == AT:
        return "NoLocalPart"
    try:
        _local_part(lx)
        _domain_part(lx)
    except _Invalid as exc:
        return str(exc)
    return None


def is_valid_email(value: object) -> bool:
    """Laravel v10.1.4 ``validateEmail`` with no parameters."""
    return isinstance(value, str) and rfc_reason(value) is None
