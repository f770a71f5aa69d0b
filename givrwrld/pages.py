"""The site's own pages around the customer pages: the site name in every template, and
branded error pages (404, 403, 500) instead of Django's plain or DEBUG ones.

With DEBUG off Django renders templates/404.html, 403.html and 500.html itself (through the
handlers in givrwrld/urls.py). With DEBUG on (the demo) it would show its yellow technical
pages, which a customer trying the shop should not see: `BrandedErrorPagesMiddleware`
replaces them on customer pages. The admin, the JSON API, the webhook and the operations
endpoints keep Django's answers (an operator debugging wants the technical page; an API
client wants JSON). The traceback of a 500 still goes to the log (django.request).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import loader

# Not customer pages: the operator console, the APIs, files and the operations endpoints.
_NOT_CUSTOMER = ("/admin/", "/api/", "/static/", "/metrics", "/healthz", "/readyz", "/bench/")
_TEMPLATES = {403: "403.html", 404: "404.html", 500: "500.html"}


def site(request: HttpRequest) -> dict[str, Any]:
    """Template context: `site_name` (settings.SITE_NAME) for titles, header and footer."""
    return {"site_name": settings.SITE_NAME}


def is_customer_page(path: str) -> bool:
    return not path.startswith(_NOT_CUSTOMER)


def error_page(request: HttpRequest | None, status: int, message: str = "") -> HttpResponse:
    """The branded page for `status`. The 500 page uses no request context (no database, no
    session): whatever broke the view may be what a context processor would need."""
    template = loader.get_template(_TEMPLATES[status])
    context = {"site_name": settings.SITE_NAME, "message": message, "status": status}
    body = template.render(context, None if status == 500 else request)
    response = HttpResponse(body, status=status)
    response.branded = True  # type: ignore[attr-defined]
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_page(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form posted without a valid CSRF token: usually an old tab or cleared cookies."""
    return error_page(
        request,
        403,
        "This form has expired (an old tab, or cookies were cleared). Go back, reload the "
        "page and try again.",
    )


def _is_technical(response: HttpResponse) -> bool:
    """Django's DEBUG pages (technical_404.html, technical_500.html) carry this robots tag; a
    view's own 404/403 page (with its own message) is left as the view made it."""
    if getattr(response, "streaming", False):
        return False
    return b'content="NONE,NOARCHIVE"' in response.content


class BrandedErrorPagesMiddleware:
    """With DEBUG on, Django answers a customer page's 404/403/500 with its technical page;
    this puts the branded page in its place. With DEBUG off the handlers already brand them,
    so this does nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code in _TEMPLATES
            and not getattr(response, "branded", False)
            and is_customer_page(request.path)
            and response.get("Content-Type", "").startswith("text/html")
            and _is_technical(response)
        ):
            return error_page(request, response.status_code)
        return response
