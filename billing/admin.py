from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.admin import ModelAdmin

from billing.models import StripeEvent, StripeReference
from core.confirm import ActionPermissionMixin

# The order admin lives in console/admin.py: its buttons call provisioning's services too.


@admin.register(StripeEvent)
class StripeEventAdmin(ActionPermissionMixin, ModelAdmin):
    list_display = ["event_id", "type", "status", "order", "note", "received_at"]
    list_filter = ["type", "status", "api_version"]
    search_fields = ["event_id", "object_id", "note"]
    actions = ["reprocess"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the log is the record of what Stripe told us

    # Changes what the event did: the change permission on the log (view-only staff: 403).
    @admin.action(description="Reprocess (handle the stored event again)", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        from billing.webhooks import stripe_event_process

        for row in queryset:
            # Only a 'failed' row is handled again; handlers are idempotent, so a processed
            # event's second run changes nothing it already changed.
            StripeEvent.objects.filter(pk=row.pk).update(status="failed")
            try:
                result = stripe_event_process(event=row.payload)
            except Exception as exc:
                self.message_user(
                    request, f"Event {row.event_id} failed again: {exc}", messages.ERROR
                )
            else:
                note = f" ({result.note})" if result.note else ""
                self.message_user(request, f"Event {row.event_id}: {result.status}{note}")


@admin.register(StripeReference)
class StripeReferenceAdmin(ModelAdmin):
    """The Stripe ids that tie events to orders (docs/billing-lifecycle.md). Read-only: an id
    is proof only because we stored it ourselves."""

    list_display = ["stripe_id", "kind", "order", "source", "created_at"]
    list_filter = ["kind"]
    search_fields = ["stripe_id", "order__id"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in StripeReference._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
