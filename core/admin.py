from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.crypto import encrypt
from core.models import Secret


class SecretForm(forms.ModelForm):
    """Values are write-only: the form never shows the stored value."""

    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted (AES-256-GCM). Leave empty to keep the current value.",
        required=False,
    )

    class Meta:
        model = Secret
        fields = ["name"]


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    form = SecretForm
    list_display = ["name", "updated_at"]
    search_fields = ["name"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        value = form.cleaned_data.get("value")
        if value:
            obj.ciphertext = encrypt(value, associated_data=obj.name)
        elif not change:
            raise forms.ValidationError("A new secret needs a value.")
        super().save_model(request, obj, form, change)
