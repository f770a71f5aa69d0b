"""Nests and eggs: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Nests/NestController.php and
app/Http/Controllers/Api/Application/Nests/EggController.php (eggs are bound under their nest
and not paginated)."""

from __future__ import annotations

from ..controller import Ctx, includes, paginate
from ..http import Response, json_response


def list_nests(ctx: Ctx) -> Response:
    app = ctx.app
    inc = includes(ctx)
    rows = sorted(app.state.nests.values(), key=lambda n: n["id"])
    return json_response(200, paginate(ctx, rows, lambda n: ctx.tx.nest(n, inc)))


def get_nest(ctx: Ctx) -> Response:
    return json_response(200, ctx.tx.nest(ctx.models["nest"], includes(ctx)))


def list_eggs(ctx: Ctx) -> Response:
    app = ctx.app
    nest = ctx.models["nest"]
    inc = includes(ctx)
    eggs = [
        e
        for e in sorted(app.state.eggs.values(), key=lambda e: e["id"])
        if e["nest_id"] == nest["id"]
    ]
    return json_response(200, {"object": "list", "data": [ctx.tx.egg(e, inc) for e in eggs]})


def get_egg(ctx: Ctx) -> Response:
    return json_response(200, ctx.tx.egg(ctx.models["egg"], includes(ctx)))
