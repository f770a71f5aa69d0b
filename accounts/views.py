"""The customer's profile page (sign-up, log-in, e-mail and password pages are allauth's)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.adapter import PENDING_EMAIL_SESSION_KEY
from accounts.forms import ProfileForm, VerificationResendForm
from accounts.models import User
from accounts.services import user_profile_update, verification_resend


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = ProfileForm(
        request.POST or None, initial={"first_name": user.first_name, "last_name": user.last_name}
    )
    if request.method == "POST" and form.is_valid():
        user_profile_update(user=user, **form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "panel_linked": bool(user.pterodactyl_user_id)},
    )


@require_http_methods(["POST"])
def verification_resend_view(request: HttpRequest) -> HttpResponse:
    """*Send the link again* from the "verify your e-mail" page (no log-in: the customer
    cannot log in before verifying). Answers by a message on that page."""
    form = VerificationResendForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the e-mail address you signed up with.")
        return redirect("account_email_verification_sent")
    email = form.cleaned_data["email"]
    request.session[PENDING_EMAIL_SESSION_KEY] = email
    if verification_resend(request=request, email=email):
        messages.success(
            request,
            f"If {email} belongs to an account still waiting for verification, a new link is "
            "on its way. Check the spam folder too.",
        )
    else:
        messages.info(
            request,
            f"A link already went to {email} in the last few minutes, and it still works. "
            "Wait a few minutes for it (check the spam folder too) before asking again.",
        )
    return redirect("account_email_verification_sent")
