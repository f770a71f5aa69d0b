"""Locations: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Locations/LocationController.php; rules from
app/Models/Location.php ``$validationRules``, deletion from
app/Services/Locations/LocationDeletionService.php."""

from __future__ import annotations

from typing import Any

from .. import rules as rulelib
from ..controller import Ctx, Validator, includes, paginate, partial, query, resource_url
from ..http import Response, display, json_response
from ..state import State, collate


def list_locations(ctx: Ctx) -> Response:
    app = ctx.app
    inc = includes(ctx)
    rows = query(
        ctx,
        list(app.state.locations.values()),
        {"short": partial("short"), "long": partial("long")},
        {"id": lambda r: r["id"]},
    )
    return json_response(200, paginate(ctx, rows, lambda r: ctx.tx.location(r, inc)))


def get_location(ctx: Ctx) -> Response:
    return json_response(200, ctx.tx.location(ctx.models["location"], includes(ctx)))


def location_rules(state: State, data: dict[str, Any], ignore: int | None) -> None:
    """StoreLocationRequest / UpdateLocationRequest (pterodactyl/panel v1.11.8
    app/Http/Requests/Api/Application/Locations/): app/Models/Location.php rules in the model's
    order, ``attributes()`` 'Location Identifier' / 'Location Description'; the update request
    extends the store one, so a PATCH must carry ``short`` too (unique ignores itself)."""
    v = Validator(data)
    taken = rulelib.CustomRule(
        "unique",
        lambda value: (
            not any(
                collate(loc["short"]) == collate(value)
                for loc in state.locations.values()
                if loc["id"] != ignore
            )
        ),
        "The :attribute has already been taken.",
    )
    v.check("short", ["required", "string", "between:1,60", taken], "Location Identifier")
    v.check("long", "string|nullable|between:1,191", "Location Description")
    v.raise_if_failed()


def create_location(ctx: Ctx) -> Response:
    app = ctx.app
    data = ctx.req.input
    location_rules(app.state, data, None)
    now = app.clock()
    loc = {
        "id": app.state.next_id("locations"),
        "short": data["short"],
        "long": data.get("long"),
        "created_at": now,
        "updated_at": now,
    }
    app.state.locations[loc["id"]] = loc
    body = ctx.tx.location(loc)
    body["meta"] = resource_url(ctx, f"locations/{loc['id']}")
    return json_response(201, body)


def update_location(ctx: Ctx) -> Response:
    app = ctx.app
    loc = ctx.models["location"]
    data = ctx.req.input
    location_rules(app.state, data, loc["id"])
    for key in ("short", "long"):
        if key in data:
            loc[key] = data[key]
    loc["updated_at"] = app.clock()
    return json_response(200, ctx.tx.location(loc))


def delete_location(ctx: Ctx) -> Response:
    app = ctx.app
    loc = ctx.models["location"]
    if any(n["location_id"] == loc["id"] for n in app.state.nodes.values()):
        raise display(
            "Cannot delete a location that has active nodes attached to it.",
            "HasActiveNodesException",
        )
    del app.state.locations[loc["id"]]
    return json_response(204, None)
