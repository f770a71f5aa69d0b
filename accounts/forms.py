from __future__ import annotations

from allauth.account.forms import AddEmailForm, SignupForm
from django import forms

from accounts.panel_email import panel_email_problem


class ProfileForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)


def panel_email_clean(email: str) -> str:
    # The game panel must accept the address when the first server is made; refuse it now,
    # while the customer can still type another (accounts/panel_email.py has the rule).
    problem = panel_email_problem(email)
    if problem:
        raise forms.ValidationError(
            f"Our game panel cannot use this e-mail address. {problem}", code="panel_email"
        )
    return email


class PanelSignupForm(SignupForm):
    """allauth's sign-up, plus the panel's e-mail rule (ACCOUNT_FORMS["signup"])."""

    def clean_email(self) -> str:
        return panel_email_clean(super().clean_email())


class PanelAddEmailForm(AddEmailForm):
    """allauth's "add an e-mail address", plus the panel's rule (ACCOUNT_FORMS["add_email"])."""

    def clean_email(self) -> str:
        return panel_email_clean(super().clean_email())
