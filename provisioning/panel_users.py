"""The customer's panel account: found or created once, its id cached on the customer.

Our cached id first (no call). Otherwise create; when the panel answers that the e-mail or
external id is taken, link the existing account found by the exact `/users/external/{id}`,
then by an exact e-mail match over every page (the list filter is a substring match:
pitfalls 5 and 6 of the panel reference). Creation happens under a lock on the customer's row
so two orders of one new customer make one panel user.
"""

from __future__ import annotations

import re
import secrets

from django.db import transaction

from accounts.models import User
from panel.client import PanelClient
from panel.errors import PanelValidationError

_USERNAME_CHARS = re.compile(r"[^a-z0-9_.-]+")


def panel_username_for(user: User) -> str:
    """A username the panel accepts: lowercase, [a-z0-9_.-], alphanumeric at both ends, >= 3
    characters; suffixed with our id so two customers never collide."""
    local = _USERNAME_CHARS.sub("", user.email.split("@", 1)[0].lower()).strip("_.-")
    return f"{local[:40] or 'customer'}{user.pk}"


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
    username = panel_username_for(user)
    for attempt in range(2):
        try:
            created = client.user_create(
                email=user.email,
                username=username,
                first_name=user.first_name or "Customer",
                last_name=user.last_name or f"#{user.pk}",
                external_id=user.panel_external_id,
            )
        except PanelValidationError as exc:
            taken = exc.has("email", "unique") or exc.has("external_id", "unique")
            if taken or exc.has("username", "unique"):
                found = client.user_get_by_external_id(
                    external_id=user.panel_external_id
                ) or client.user_find_by_email(email=user.email)
                if found is not None:
                    return found.id
            if exc.has("username", "unique") and not taken and attempt == 0:
                username = f"{username}-{secrets.token_hex(3)}"
                continue
            raise
        return created.id
    raise AssertionError("unreachable")
