"""The confirmation step every console action on one object goes through.

GET shows what the action will do and a form; only a POST with `confirm=yes` (and the admin's
CSRF token) runs it. The caller has already checked the permission. One helper, so every
button behaves alike: a repeated POST runs the service again, and the services refuse what is
already done (their guarded transitions), so a double click changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from core.errors import ServiceError


def staff_actor(request: HttpRequest) -> str:
    """The audit trail's name for the staff member (OrderEvent.actor, Alert.*_by)."""
    user: Any = request.user
    return f"staff:{user.get_username()}"


def confirm_then(
    request: HttpRequest,
    *,
    model_admin: Any,
    action: str,
    title: str,
    body: str,
    button: str,
    back_url: str,
    run: Callable[[dict[str, Any]], str],
    form_class: type[forms.Form] | None = None,
    refusal: str = "",
) -> HttpResponse:
    """`run(cleaned_data)` returns the success message; a ServiceError's message is shown
    as an error. Either way the operator lands back on `back_url`."""
    form = (form_class or forms.Form)(request.POST if request.method == "POST" else None)
    if request.method == "POST" and request.POST.get("confirm") == "yes" and not refusal:
        if form.is_valid():
            try:
                message = run(form.cleaned_data)
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, message)
            return HttpResponseRedirect(back_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "body": body,
        "button": button,
        "back_url": back_url,
        "form": form,
        "action": action,
        "refusal": refusal,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


class ActionPermissionMixin:
    """Django hides a bulk action the user may not run, but a forged POST naming it only
    gets "No action selected" (a redirect). Here it is refused outright: 403, nothing run."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        from django.core.exceptions import PermissionDenied

        name = request.POST.get("action") if request.method == "POST" else None
        if name:
            own: Any = self
            declared = {a if isinstance(a, str) else a.__name__ for a in own.actions or ()}
            allowed = self.get_actions(request)  # type: ignore[attr-defined]
            if name in declared and name not in allowed:
                raise PermissionDenied
        return super().changelist_view(request, extra_context)  # type: ignore[misc]
