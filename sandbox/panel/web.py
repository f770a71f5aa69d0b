"""The panel's browser side, only as far as the demo journey needs it: log in with the password
the customer set through the Application API, then open ``/server/{identifier}``.

Upstream (pterodactyl/panel v1.11.8): routes/auth.php (``GET /auth/login`` renders the React
app, ``POST /auth/login`` is app/Http/Controllers/Auth/LoginController.php ``login``: the
``user`` field is a username or, when it contains ``@``, an e-mail address, then
``password_verify`` against the stored hash; the same failure for an unknown user and a wrong
password) and routes/base.php (``/{react}`` serves the SPA for ``/server/{identifier}``; the
``auth`` middleware sends a guest to ``/auth/login``). The real pages are a React app posting
JSON; the sandbox serves plain HTML forms, a session cookie and a server page showing what the
client API shows (name, identifier, state), with the client API's access rule (owner or root
admin, anyone else a 404)."""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import urllib.parse
from typing import TYPE_CHECKING

from .http import Response
from .state import Record

if TYPE_CHECKING:
    from .app import PanelApp
    from .http import Request

SESSION_COOKIE = "pterodactyl_session"
_ITERATIONS = 100_000


def password_make(password: str) -> str:
    """A salted hash (the panel uses bcrypt through Laravel's Hasher; PBKDF2 here avoids a
    dependency). The plain password is never kept."""
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _ITERATIONS).hex()
    return f"pbkdf2${salt}${digest}"


def password_verify(password: str, stored: str | None) -> bool:
    if not stored or stored.count("$") != 2:
        return False
    _, salt, digest = stored.split("$")
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _ITERATIONS).hex()
    return hmac.compare_digest(got, digest)


def handles(path: str) -> bool:
    return path in ("/auth/login", "/auth/logout") or path.startswith("/server/")


def _page(
    status: int, title: str, body: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    doc = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} · Pterodactyl (sandbox)</title></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return status, [*(headers or []), ("Content-Type", "text/html; charset=UTF-8")], doc.encode()


def _login_form(next_url: str, error: str = "") -> str:
    failed = f'<p role="alert" id="login-error">{html.escape(error)}</p>' if error else ""
    return (
        "<h1>Login to Continue</h1>"
        f"{failed}"
        '<form method="post" action="/auth/login">'
        f'<input type="hidden" name="next" value="{html.escape(next_url)}">'
        '<label>Username or Email <input name="user" autocomplete="username"></label>'
        '<label>Password <input type="password" name="password" '
        'autocomplete="current-password"></label>'
        '<button type="submit">Login</button></form>'
    )


def _session_user(app: PanelApp, req: Request) -> Record | None:
    for part in req.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            user_id = app.web_sessions.get(value)
            return app.state.users.get(user_id) if user_id is not None else None
    return None


def _safe_next(raw: str) -> str:
    # Only a path on this panel: never an open redirect.
    return raw if raw.startswith("/") and not raw.startswith("//") else "/"


def dispatch(app: PanelApp, req: Request) -> Response:
    if req.path == "/auth/login" and req.method == "POST":
        form = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"))
        login = (form.get("user") or [""])[0]
        password = (form.get("password") or [""])[0]
        next_url = _safe_next((form.get("next") or ["/"])[0])
        # LoginController::getField(): an "@" means the e-mail column, else the username.
        column = "email" if "@" in login else "username"
        with app.state.lock:
            user = next(
                (u for u in app.state.users.values() if str(u[column]).lower() == login.lower()),
                None,
            )
        if user is None or not password_verify(password, user.get("password")):
            # trans('auth.failed'): the same words for an unknown user and a wrong password.
            return _page(
                422, "Login", _login_form(next_url, "These credentials do not match our records.")
            )
        token = secrets.token_urlsafe(24)
        app.web_sessions[token] = user["id"]
        cookie = f"{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
        return 302, [("Location", next_url), ("Set-Cookie", cookie)], b""
    if req.path == "/auth/login":
        next_url = _safe_next(
            (req.query.get("next") or "/") if isinstance(req.query.get("next"), str) else "/"
        )
        return _page(200, "Login", _login_form(next_url))
    if req.path == "/auth/logout":
        return (
            302,
            [("Location", "/auth/login"), ("Set-Cookie", f"{SESSION_COOKIE}=; Max-Age=0; Path=/")],
            b"",
        )
    user = _session_user(app, req)
    if user is None:
        target = urllib.parse.quote(req.path, safe="/")
        return 302, [("Location", f"/auth/login?next={target}")], b""
    identifier = req.path.removeprefix("/server/").split("/", 1)[0]
    with app.state.lock:
        server = next(
            (s for s in app.state.servers.values() if s["uuid"][:8] == identifier.lower()), None
        )
    if server is None or (server["owner_id"] != user["id"] and not user["root_admin"]):
        return _page(404, "Not Found", "<h1>404 | Not Found</h1>")
    status = html.escape(str(server["status"] or "ready"))
    return _page(
        200,
        server["name"],
        f'<h1 id="server-name">{html.escape(server["name"])}</h1>'
        f'<p>Identifier <code id="server-identifier">{html.escape(server["uuid"][:8])}</code></p>'
        f'<p>Signed in as <span id="panel-user">{html.escape(user["username"])}</span></p>'
        f'<p>Status: <span id="server-status">{status}</span>'
        f' · power: <span id="server-power">{html.escape(str(server["power"]))}</span></p>'
        + (
            f'<p>Failed to start: <span id="server-start-error">'
            f"{html.escape(server['start_error'])}</span></p>"
            if server.get("start_error")
            else ""
        ),
    )
