from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.models import Order, OrderEvent, StripeEvent, StripeReference
from core.errors import ServiceError
from provisioning.models import ProvisioningAttempt


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "from_status", "to_status", "actor", "reason"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AttemptInline(admin.TabularInline):
    model = ProvisioningAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "outcome",
        "step",
        "panel_call",
        "panel_status",
        "error",
        "started_at",
        "finished_at",
    ]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "plan",
        "region",
        "status",
        "server_address",
        "ptero_server_id",
        "created_at",
    ]
    list_filter = ["status", "region", "plan"]
    search_fields = ["id", "user__email", "stripe_session_id", "ptero_identifier"]
    readonly_fields = [
        "status",
        "stripe_session_id",
        "stripe_customer_id",
        "stripe_payment_intent_id",
        "ptero_server_id",
        "ptero_identifier",
        "server_address",
        "error_message",
        "paid_at",
        "provisioned_at",
        "provisioning_attempts",
        "lease_until",
        "created_at",
        "updated_at",
    ]
    inlines = [OrderEventInline, AttemptInline]
    actions = ["retry_provisioning", "mark_resolved"]

    @admin.action(description="Retry provisioning")
    def retry_provisioning(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        from provisioning.services import order_retry

        for order in queryset:
            try:
                order_retry(order_id=order.pk, actor=f"staff:{request.user}")
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"Order #{order.pk} queued for provisioning.")

    @admin.action(description="Mark resolved (adopt the server made by hand in the panel)")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        from panel.errors import PanelError
        from provisioning.services import order_mark_resolved

        for order in queryset:
            try:
                order_mark_resolved(order_id=order.pk, actor=f"staff:{request.user}")
            except ServiceError as exc:
                self.message_user(request, f"Order #{order.pk}: {exc.message}", messages.WARNING)
            except PanelError as exc:
                self.message_user(request, f"Order #{order.pk}: panel: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Order #{order.pk} marked resolved.")


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
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

    @admin.action(description="Reprocess (handle the stored event again)")
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
class StripeReferenceAdmin(admin.ModelAdmin):
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
