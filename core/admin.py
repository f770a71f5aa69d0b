from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action

from core.alert_actions import alert_acknowledge, alert_resolve
from core.confirm import ActionPermissionMixin, confirm_then, staff_actor
from core.crypto import decrypt, encrypt
from core.models import Alert, DutyLease, Heartbeat, Secret, SentMail

PANEL_URL = "panel.PANEL_URL"
PANEL_KEY = "panel.PANEL_APP_KEY"


class SecretForm(forms.ModelForm):
    """Values are write-only: the form never shows the stored value. A new panel URL needs
    the panel key entered with it (docs/console.md, "Secrets"): the stored key was given for
    the old URL, and must never be sent to one typed in later."""

    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted (AES-256-GCM). Leave empty to keep the current value.",
        required=False,
    )
    panel_key = forms.CharField(
        label="Panel application key (for a new panel URL)",
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Only for panel.PANEL_URL: a new URL is saved only with the key for it.",
    )

    class Meta:
        model = Secret
        fields = ["name"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = data.get("name") or (self.instance.name if self.instance.pk else "")
        value = data.get("value") or ""
        if not self.instance.pk and not value:
            self.add_error("value", "A new secret needs a value.")
        if name == PANEL_URL and value and value != self._stored(PANEL_URL):
            if not data.get("panel_key"):
                self.add_error(
                    "panel_key",
                    "Enter the panel application key for this URL: the stored key is never "
                    "sent to a URL it was not entered with.",
                )
        elif data.get("panel_key"):
            self.add_error("panel_key", "Only a new panel.PANEL_URL takes a panel key.")
        return data

    @staticmethod
    def _stored(name: str) -> str | None:
        row = Secret.objects.filter(name=name).first()
        if row is None:
            return None
        try:
            return decrypt(bytes(row.ciphertext), associated_data=name)
        except Exception:  # undecryptable (old AES_KEY): treat as changed
            return None


@admin.register(Secret)
class SecretAdmin(ModelAdmin):
    form = SecretForm
    list_display = ["name", "updated_at"]
    search_fields = ["name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A stored secret keeps its name: renaming would re-aim a value at another use.
        return ["name"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        value = form.cleaned_data.get("value")
        key = form.cleaned_data.get("panel_key")
        with transaction.atomic():
            if value:
                obj.ciphertext = encrypt(value, associated_data=obj.name)
            super().save_model(request, obj, form, change)
            if key:  # the URL and its key change together or not at all
                Secret.objects.update_or_create(
                    name=PANEL_KEY,
                    defaults={"ciphertext": encrypt(key, associated_data=PANEL_KEY)},
                )


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AlertStateFilter(admin.SimpleListFilter):
    """Open alerts by default: what still needs someone."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("open", "Open"),
            ("unacknowledged", "Open, nobody on it"),
            ("resolved", "Resolved"),
            ("all", "All"),
        ]

    def choices(self, changelist: Any) -> Any:
        # No "All" entry of Django's own: ours is explicit, as the default is "open".
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "open") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        state = self.value() or "open"
        if state == "open":
            return queryset.filter(resolved_at=None)
        if state == "unacknowledged":
            return queryset.filter(resolved_at=None, acknowledged_at=None)
        if state == "resolved":
            return queryset.exclude(resolved_at=None)
        return queryset


@admin.register(Alert)
class AlertAdmin(ActionPermissionMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "title",
        "order_link",
        "delivered",
        "acknowledged_by",
        "resolved_by",
    ]
    list_display_links = ["title"]
    list_filter = [AlertStateFilter, "delivered"]
    search_fields = ["title", "body", "=order_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "title",
        "body",
        "order_link",
        "delivered",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
    ]
    fields = readonly_fields
    actions = ["acknowledge_selected", "resolve_selected"]
    actions_detail = ["detail_acknowledge", "detail_resolve"]

    def has_acknowledge_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("core.acknowledge_alert"))

    @admin.display(description="order")
    def order_link(self, obj: Alert) -> str:
        if obj.order_id is None:
            return "—"
        url = reverse("admin:billing_order_change", args=[obj.order_id])
        return format_html('<a href="{}">Order #{}</a>', url, obj.order_id)

    @admin.action(description="Acknowledge selected alerts", permissions=["acknowledge"])
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = sum(alert_acknowledge(alert_id=a.pk, actor=staff_actor(request)) for a in queryset)
        self.message_user(request, f"{done} alert(s) acknowledged.")

    @admin.action(description="Resolve selected alerts", permissions=["acknowledge"])
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = sum(alert_resolve(alert_id=a.pk, actor=staff_actor(request)) for a in queryset)
        self.message_user(request, f"{done} alert(s) resolved.")

    def _confirm(
        self, request: HttpRequest, object_id: str, name: str, verb: str, fn: Any
    ) -> HttpResponse:
        alert = get_object_or_404(Alert, pk=object_id)

        def run(data: dict[str, Any]) -> str:
            if fn(alert_id=alert.pk, actor=staff_actor(request)):
                return f"Alert {verb}."
            messages.warning(request, f"The alert was already {verb}; nothing changed.")
            return f"Alert #{alert.pk} unchanged."

        return confirm_then(
            request,
            model_admin=self,
            action=name,
            title=f"{name.capitalize()} this alert?",
            body=f"“{alert.title}”. Recorded with your name and the time.",
            button=name.capitalize(),
            back_url=reverse("admin:core_alert_change", args=[alert.pk]),
            run=run,
        )

    @action(description="Acknowledge", url_path="acknowledge", permissions=["acknowledge"])
    def detail_acknowledge(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(request, object_id, "acknowledge", "acknowledged", alert_acknowledge)

    @action(description="Resolve", url_path="resolve", permissions=["acknowledge"])
    def detail_resolve(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(request, object_id, "resolve", "resolved", alert_resolve)


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


@admin.register(SentMail)
class SentMailAdmin(ReadOnlyAdmin):
    """Every customer mail, once per key (core/mail.py); `error` says why one did not go."""

    list_display = ["created_at", "kind", "order_id", "to", "subject", "sent_at", "error"]
    list_filter = ["kind"]
    search_fields = ["key", "to", "order_id"]
    date_hierarchy = "created_at"
