from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.crypto import encrypt
from core.models import Alert, DutyLease, Heartbeat, Secret


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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "title", "order_id", "delivered"]
    list_filter = ["delivered"]
    search_fields = ["title", "body", "order_id"]
    date_hierarchy = "created_at"


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "beat_at"]


@admin.register(DutyLease)
class DutyLeaseAdmin(ReadOnlyAdmin):
    """Who runs each periodic duty and how its last run ended (read-only: only the
    schedulers' conditional UPDATEs may change a lease)."""

    list_display = [
        "name",
        "owner",
        "expires_at",
        "interval_seconds",
        "last_started_at",
        "last_finished_at",
        "runs",
        "last_error",
    ]
