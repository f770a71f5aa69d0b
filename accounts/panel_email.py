"""Will the game panel take this e-mail address? Checked before the panel ever sees it.

The panel's rule is pterodactyl/panel v1.11.8 app/Models/User.php
``'email' => 'required|email|between:1,191|unique:users,email'``. On the panel's Laravel
(v10.1.4 in its composer.lock) the bare ``email`` rule is
``(new EmailValidator)->isValid($value, new RFCValidation)`` (laravel/framework
src/Illuminate/Validation/Concerns/ValidatesAttributes.php ``validateEmail``), from
egulias/email-validator 4.0.1 (also pinned by the panel's composer.lock). Its parser
(src/EmailLexer.php, src/Parser/LocalPart.php, src/Parser/DomainPart.php) refuses:

* no local part (``@x.io``), a dot at either end of the local part or two in a row
  (``.a@x.io``, ``a.@x.io``, ``john..doe@x.io``), and in the local part ``, [ ] < > : ;``;
* any character of the Unicode categories S (symbols: emoji, ``€``, ``║``) or C (controls,
  unassigned) anywhere in the address;
* in the domain: an empty domain, a dot or hyphen first, a dot last, two dots in a row, a
  hyphen before a dot or last, any ASCII character but letters, digits, ``-`` and ``.``
  (``_``, ``+``, ``'`` ... are refused), a label longer than 63 (the parser counts the dot
  before every label after the first, so those are limited to 62), an internationalised
  label whose ``xn--`` form is longer than 63, a domain longer than 253 bytes;
* ``between:1,191`` adds at most 191 characters for the whole address.

It accepts, with warnings only, a domain without a dot (``a@localhost``) and a local part over
64 characters; so do we.

We accept a subset, on purpose: the dot-atom form only. Quoted local parts (``"a b"@x.io``),
comments (``a(c)@x.io``), backslash escapes, folding white space and domain literals
(``a@[127.0.0.1]``) parse on the panel in some shapes and not in others, and no customer needs
them; non-ASCII local parts need SMTPUTF8 all the way to the mailbox (Django's own e-mail
check refuses them too). Refusing more than the panel is safe at sign-up; provisioning never
uses this check, it acts on the panel's own answer.
"""

from __future__ import annotations

import unicodedata

PANEL_EMAIL_MAX = 191  # between:1,191 (mb_strlen: characters)
_DOMAIN_MAX_BYTES = 253  # DomainPart::DOMAIN_MAX_LENGTH (strlen: bytes)
_LABEL_MAX = 63  # DomainPart::LABEL_MAX_LENGTH

# RFC 5322 section 3.2.3 atext: what egulias lexes as GENERIC or as a special token its
# LocalPart does not refuse.
_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
)
_DOMAIN_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def panel_email_problem(email: str) -> str | None:
    """Why the panel (or our stricter subset of its rule) refuses ``email``; None if it is
    accepted. The text is for the person who typed the address."""
    if not email:
        return "Enter an e-mail address."
    if len(email) > PANEL_EMAIL_MAX:
        return f"Use an e-mail address of at most {PANEL_EMAIL_MAX} characters."
    # The lexer gives every printable ASCII character a token of its own (so "+" and "="
    # are not symbols to it); any other character of category S or C is an invalid token.
    if any(_invalid_token(ch) for ch in email):
        return "Remove the symbol, emoji or control character from the e-mail address."
    local, at, domain = email.partition("@")
    if not at:
        return "The e-mail address needs an @ sign."
    if not local:
        return "Put the name before the @ sign."
    if "@" in domain:
        return "Use one @ sign only."
    return _local_problem(local) or _domain_problem(domain)


def _invalid_token(ch: str) -> bool:
    return not (ch.isascii() and ch.isprintable()) and unicodedata.category(ch)[0] in "SC"


def _local_problem(local: str) -> str | None:
    if not all(ch in _ATEXT or ch == "." for ch in local):
        return (
            "Use only letters a-z, digits, dots and !#$%&'*+-/=?^_`{|}~ before the @ "
            "(no spaces, quotes or accented letters)."
        )
    if local.startswith(".") or local.endswith("."):
        return "The part before the @ cannot start or end with a dot."
    if ".." in local:
        return "The part before the @ cannot have two dots in a row."
    return None


def _domain_problem(domain: str) -> str | None:
    if not domain:
        return "Put the domain after the @ sign."
    if domain[0] in ".-":
        return "The domain cannot start with a dot or a hyphen."
    if domain.endswith("."):
        return "The domain cannot end with a dot."
    if ".." in domain:
        return "The domain cannot have two dots in a row."
    if domain.endswith("-") or "-." in domain:
        return "A part of the domain cannot end with a hyphen."
    if len(domain.encode("utf-8")) > _DOMAIN_MAX_BYTES:
        return "The domain is too long."
    for index, label in enumerate(domain.split(".")):
        if label.isascii():
            if not all(ch in _DOMAIN_ASCII for ch in label):
                return "Use only letters, digits, hyphens and dots after the @."
            # egulias counts the dot before each label after the first as part of it.
            if len(label) + (1 if index else 0) > _LABEL_MAX:
                return "A part of the domain is too long."
        else:
            if not all(ch in _DOMAIN_ASCII or _idn_letter(ch) for ch in label):
                return "Use only letters, digits, hyphens and dots after the @."
            if len(_xn_label(label)) > _LABEL_MAX:
                return "A part of the domain is too long."
    return None


def _idn_letter(ch: str) -> bool:
    # egulias lets through any non-ASCII character outside S and C; we keep to letters,
    # marks and digits, the characters an internationalised domain name is made of.
    return not ch.isascii() and unicodedata.category(ch)[0] in "LMN"


def _xn_label(label: str) -> str:
    # What idn_to_ascii (UTS 46) makes of the label, for its length: "xn--" + punycode of
    # the case-folded, NFKC-normalised label.
    folded = unicodedata.normalize("NFKC", label.casefold())
    return "xn--" + folded.encode("punycode").decode("ascii")
