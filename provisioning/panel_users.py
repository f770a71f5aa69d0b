"""The customer's panel account: found or created once, its id cached on the customer.

Our cached id first (no call). Otherwise create; when the panel answers that the e-mail or
external id is taken, link the existing account found by the exact `/users/external/{id}`,
then by an exact e-mail match over every page (the list filter is a substring match).
Creation happens under a lock on the customer's row so two orders of one new customer make one
panel user.

The panel's rules for a new user (pterodactyl/panel v1.11.8 app/Models/User.php
`$validationRules` and `getRules()`, app/Rules/Username.php):

* ``username``: ``required|between:1,191|unique:users,username`` plus ``p_username``, the regex
  ``/^[a-z0-9]([\\w\\.-]+)[a-z0-9]$/`` tested on ``mb_strtolower($value)``: at least three
  characters, ``[a-z0-9_.-]``, alphanumeric at both ends. ``setUsernameAttribute`` stores it
  lower-cased and the column's collation (utf8mb4_unicode_ci) makes ``unique`` case-blind.
* ``email``: ``required|email|between:1,191|unique:users,email``. UserCreationService does
  not normalise either field, so what we send is what is checked.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import transaction

from accounts.models import User
from panel.client import PanelClient
from panel.errors import PanelTerminalError, PanelValidationError

# app/Rules/Username.php VALIDATION_REGEX (PCRE without /u: \w is ASCII [A-Za-z0-9_]).
PANEL_USERNAME_RE = re.compile(r"^[a-z0-9]([\w\.-]+)[a-z0-9]$", re.ASCII)
PANEL_USERNAME_MAX = 191  # between:1,191

_NOT_USERNAME_CHARS = re.compile(r"[^a-z0-9_.-]+")
_LOCAL_MAX = 40  # keeps names readable; the panel allows 191
# Other panel accounts may hold the name we pick (an operator made them by hand): we try the
# base name, then "-2", "-3" ... up to this many names in all, then stop with a clear error.
USERNAME_TRIES = 5
_ADMIN = "the admin (Customers > Users)"


class PanelAccountRefused(PanelTerminalError):
    """The panel will not take this customer's account as it is; an operator must change
    something (the e-mail, or link an existing panel account) before a retry can succeed.
    A terminal error: provisioning ends in 'error' with this message, never a retry loop."""


def panel_username_for(user: User, attempt: int = 1) -> str:
    """The panel username for this customer: ``<local part>_<our id>``, then
    ``<local part>_<our id>-<attempt>`` when a foreign panel account holds the earlier ones.

    Always valid under the panel's rule: the local part is folded to ASCII (``José`` ->
    ``jose``), reduced to ``[a-z0-9_.-]``, trimmed to an alphanumeric first character and cut
    to 40 characters; it is followed by ``_`` and the id's digits, so the name is at least three
    characters ("a_5") and ends with a digit. Stable for a customer (a function of the e-mail,
    the id and the attempt) and never the same for two of our customers: the id after the last
    ``_`` (and the attempt after a ``-``) can be read back from the name.
    """
    folded = unicodedata.normalize("NFKD", user.email.split("@", 1)[0]).lower()
    local = _NOT_USERNAME_CHARS.sub("", folded.encode("ascii", "ignore").decode("ascii"))
    local = local[:_LOCAL_MAX].lstrip("_.-").rstrip("_.-") or "customer"
    name = f"{local}_{user.pk}"
    return name if attempt <= 1 else f"{name}-{attempt}"


def panel_user_ensure(*, client: PanelClient, user_id: int) -> int:
    """Return the customer's panel user id, creating the panel user if it does not exist."""
    cached = User.objects.filter(pk=user_id).values_list("pterodactyl_user_id", flat=True).first()
    if cached:
        return cached
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if user.pterodactyl_user_id:  # another worker created it while we waited for the lock
            return user.pterodactyl_user_id
        panel_id = _find_or_create(client=client, user=user)
        user.pterodactyl_user_id = panel_id
        user.save(update_fields=["pterodactyl_user_id"])
        return panel_id


def _find_or_create(*, client: PanelClient, user: User) -> int:
    # Create first: for a new customer that is the only call. If the panel already knows the
    # e-mail or our external id (an account made elsewhere, or a create whose answer we lost),
    # its 422 "has already been taken" sends us to the exact look-ups, and we link that user.
    # Laravel reports every failing attribute at once, so a 422 naming only the username means
    # the e-mail and external id are free: another account holds the name, try the next one.
    for attempt in range(1, USERNAME_TRIES + 1):
        try:
            created = client.user_create(
                email=user.email,
                username=panel_username_for(user, attempt),
                first_name=_panel_name(user.first_name) or "Customer",
                last_name=_panel_name(user.last_name) or f"#{user.pk}",
                external_id=user.panel_external_id,
            )
        except PanelValidationError as exc:
            taken = exc.has("email", "unique") or exc.has("external_id", "unique")
            if taken:
                # Our external id taken means our own earlier create: link it even if the
                # e-mail has since become one the panel refuses.
                found = client.user_get_by_external_id(
                    external_id=user.panel_external_id
                ) or client.user_find_by_email(email=user.email)
                if found is not None:
                    return found.id
            _refuse_bad_email(exc, user)
            if taken:
                raise PanelAccountRefused(
                    f"The panel says customer #{user.pk}'s e-mail ({user.email}) or external id "
                    f"({user.panel_external_id}) is taken, but no panel account matches it "
                    "exactly (the panel compares without case or accents). Find that account "
                    "in the panel and enter its id as the customer's Pterodactyl user id in "
                    f"{_ADMIN}, or change one of the two e-mails, then retry the order.",
                    status=exc.status,
                    code=exc.code,
                    endpoint=exc.endpoint,
                ) from None
            if exc.has("username", "unique") and exc.fields == {"username"}:
                continue
            raise
        return created.id
    names = ", ".join(panel_username_for(user, n) for n in range(1, USERNAME_TRIES + 1))
    raise PanelAccountRefused(
        f"Other panel accounts hold every username we tried for customer #{user.pk} ({names}). "
        "Rename one of those panel accounts, or enter the customer's existing panel account id "
        f"as their Pterodactyl user id in {_ADMIN}, then retry the order.",
        status=422,
        code="ValidationException",
        endpoint="POST /users",
    )


def _panel_name(name: str) -> str:
    # The panel trims every input (app/Http/Kernel.php: TrimStrings, white space plus U+FEFF
    # and U+200B) and turns "" into null, which `name_first`/`name_last` ('required|string|
    # between:1,191') refuse: a name of blanks must fall back like an empty one.
    return name.strip().strip("\ufeff\u200b").strip()[:191]


def _refuse_bad_email(exc: PanelValidationError, user: User) -> None:
    """A 422 on the e-mail for any rule but ``unique`` (the panel's ``email`` = egulias
    RFCValidation, or ``between:1,191``) will fail the same way on every retry: stop with what
    the operator has to do."""
    refusals = [e for e in exc.errors if e.source_field == "email" and e.rule != "unique"]
    if refusals:
        raise PanelAccountRefused(
            f"The panel refuses customer #{user.pk}'s e-mail ({user.email}): "
            f"{'; '.join(e.detail for e in refusals)} Change the customer's e-mail in {_ADMIN} "
            "to one the panel accepts, then retry the order.",
            status=exc.status,
            code=exc.code,
            endpoint=exc.endpoint,
        ) from None
