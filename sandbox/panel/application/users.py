"""Users: pterodactyl/panel v1.11.8 app/Http/Controllers/Api/Application/Users/UserController.php
and ExternalUserController.php; rules from app/Models/User.php ``$validationRules`` through
app/Http/Requests/Api/Application/Users/StoreUserRequest.php / UpdateUserRequest.php."""

from __future__ import annotations

import re
from typing import Any

from .. import rules as rulelib
from ..controller import (
    Ctx,
    Validator,
    as_bool,
    includes,
    paginate,
    partial,
    query,
    resource_url,
)
from ..http import Response, display, json_response, not_found
from ..state import State, collate
from ..web import password_make

USERNAME_RE = re.compile(r"^[a-z0-9]([\w\.-]+)[a-z0-9]$", re.ASCII)
USERNAME_MESSAGE = (
    "The :attribute must start and end with alpha-numeric characters and\n"
    "                contain only letters, numbers, dashes, underscores, and periods."
)


def list_users(ctx: Ctx) -> Response:
    app = ctx.app
    inc = includes(ctx)
    rows = query(
        ctx,
        list(app.state.users.values()),
        {
            f: partial(c)
            for f, c in (
                ("email", "email"),
                ("uuid", "uuid"),
                ("username", "username"),
                ("external_id", "external_id"),
            )
        },
        {"id": lambda r: r["id"], "uuid": lambda r: r["uuid"]},
    )
    return json_response(200, paginate(ctx, rows, lambda u: ctx.tx.user(u, inc)))


def get_user(ctx: Ctx) -> Response:
    return json_response(200, ctx.tx.user(ctx.models["user"], includes(ctx)))


def get_user_external(ctx: Ctx) -> Response:
    user = ctx.app.state.user_by_external_id(ctx.req.params["external_id"])
    if user is None:
        raise not_found()
    return json_response(200, ctx.tx.user(user, includes(ctx)))


def _php_string(value: Any) -> str | None:
    """What ``mb_strtolower($value)`` sees: PHP turns an int or float into its string; other
    types make the panel's Username rule fail."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def username_passes(value: Any) -> bool:
    """pterodactyl/panel v1.11.8 app/Rules/Username.php: ``preg_match(VALIDATION_REGEX,
    mb_strtolower($value))``. The regex has no ``u`` flag, so only ASCII letters, digits, ``_``,
    ``-`` and ``.`` pass, at least three characters, first and last alphanumeric."""
    text = _php_string(value)
    return text is not None and bool(USERNAME_RE.match(text.lower()))


def user_rules(state: State, v: Validator, ignore_id: int | None) -> None:
    """StoreUserRequest::rules() = ``User::getRules()`` (pterodactyl/panel v1.11.8
    app/Models/User.php ``$validationRules`` plus ``getRules()``'s ``In`` for language and
    ``Username`` for username), keeping the model's key order (``collect()->only()``), then
    first_name/last_name. UpdateUserRequest uses ``getRulesForUpdate``: unique ignores the
    user itself. ``unique:users,...`` compares under the ``utf8mb4_unicode_ci`` collation."""
    others = [u for u in state.users.values() if u["id"] != ignore_id]

    def unique(column: str) -> rulelib.CustomRule:
        def passes(value: Any) -> bool:
            key = collate(value)
            return not any(u[column] is not None and collate(u[column]) == key for u in others)

        return rulelib.CustomRule("unique", passes, "The :attribute has already been taken.")

    username_rule = rulelib.CustomRule("p_username", username_passes, USERNAME_MESSAGE)
    v.check("email", ["required", "email", "between:1,191", unique("email")])
    v.check(
        "external_id",
        ["sometimes", "nullable", "string", "max:191", unique("external_id")],
        "Third Party Identifier",
    )
    v.check("username", ["required", "between:1,191", unique("username"), username_rule])
    v.check("password", "sometimes|nullable|string")
    v.check("root_admin", "boolean", "Root Administrator Status")
    # resources/lang holds only "en" in v1.11.8, so the In rule allows exactly that.
    v.check("language", "string|in:en")
    v.check("first_name", "required|string|between:1,191")
    v.check("last_name", "required|string|between:1,191")
    v.raise_if_failed()


def create_user(ctx: Ctx) -> Response:
    app = ctx.app
    data = ctx.req.input
    user_rules(app.state, Validator(data), None)
    now = app.clock()
    user = {
        "id": app.state.next_id("users"),
        "external_id": data.get("external_id"),
        "uuid": app.state.new_uuid(),
        "username": str(_php_string(data["username"])).lower(),
        "email": data["email"],
        "name_first": data["first_name"],
        "name_last": data["last_name"],
        "language": data.get("language") or "en",
        "root_admin": as_bool(data.get("root_admin", False)),
        "use_totp": False,
        "created_at": now,
        "updated_at": now,
    }
    if data.get("password"):  # UserCreationService hashes a given password
        user["password"] = password_make(str(data["password"]))
    app.state.users[user["id"]] = user
    body = ctx.tx.user(user)
    body["meta"] = resource_url(ctx, f"users/{user['id']}")
    return json_response(201, body)


def update_user(ctx: Ctx) -> Response:
    app = ctx.app
    user = ctx.models["user"]
    data = ctx.req.input
    user_rules(app.state, Validator(data), user["id"])
    user.update(
        {
            "email": data["email"],
            "username": str(_php_string(data["username"])).lower(),
            "name_first": data["first_name"],
            "name_last": data["last_name"],
            "updated_at": app.clock(),
        }
    )
    if "external_id" in data:
        user["external_id"] = data["external_id"]
    # pterodactyl/panel v1.11.8 app/Services/Users/UserUpdateService.php: a non-empty password
    # is hashed and stored; an empty or missing one leaves the old hash alone.
    if data.get("password"):
        user["password"] = password_make(str(data["password"]))
    if data.get("language"):
        user["language"] = data["language"]
    if "root_admin" in data and data["root_admin"] is not None:
        user["root_admin"] = as_bool(data["root_admin"])
    return json_response(200, ctx.tx.user(user))


def delete_user(ctx: Ctx) -> Response:
    app = ctx.app
    user = ctx.models["user"]
    if any(s["owner_id"] == user["id"] for s in app.state.servers.values()):
        raise display(
            "Cannot delete a user with active servers attached to their account. Please "
            "delete their servers before continuing."
        )
    del app.state.users[user["id"]]
    for ident in [k for k, key in app.state.api_keys.items() if key["user_id"] == user["id"]]:
        del app.state.api_keys[ident]
    return json_response(204, None)
