"""Server startup: pterodactyl/panel v1.11.8
app/Http/Controllers/Api/Application/Servers/StartupController.php with
app/Http/Requests/Api/Application/Servers/UpdateServerStartupRequest.php ->
app/Services/Servers/StartupModificationService.php."""

from __future__ import annotations

from ..controller import Ctx, Validator, as_bool, as_int, exists
from ..http import Response, json_response
from .server_creation import IMAGE_RULE, validate_env


def update_startup(ctx: Ctx) -> Response:
    app = ctx.app
    server = ctx.models["server"]
    data = ctx.req.input
    st = app.state
    v = Validator(data)
    v.check("startup", "required|string")
    v.check("environment", "present|array")
    v.check("egg", ["required", exists(st.eggs)])
    v.check("image", ["required", "string", "max:191", IMAGE_RULE])
    v.check("skip_scripts", "present|boolean")
    v.raise_if_failed()
    egg = st.eggs[as_int(data["egg"])]
    env = data["environment"]
    if env:
        values = validate_env(app.state, egg["id"], env)
        server["env"] = values
    elif egg["id"] != server["egg_id"]:
        server["env"] = {}
    server.update(
        {
            "startup": data["startup"],
            "image": data["image"],
            "egg_id": egg["id"],
            "nest_id": egg["nest_id"],
            "skip_scripts": as_bool(data["skip_scripts"]),
            "updated_at": app.clock(),
        }
    )
    return json_response(200, ctx.tx.server(server))
