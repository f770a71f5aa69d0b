"""Customer account writes."""

from __future__ import annotations

from accounts.models import User


def user_profile_update(*, user: User, first_name: str, last_name: str) -> User:
    user.first_name = first_name.strip()[:150]
    user.last_name = last_name.strip()[:150]
    user.save(update_fields=["first_name", "last_name"])
    return user
