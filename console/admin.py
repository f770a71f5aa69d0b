"""The order page as the place to act (docs/console.md, "Orders").

Registered here, on top of the layering, because its buttons call billing (refund) and
provisioning (retry, resolve, suspend, unsuspend, terminate) services. Every billing fact is
read-only; an order is never added by hand, and a paid one is never deleted.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action

from billing.models import Order, OrderEvent, OrderStatus, StripeReference
from catalog.admin import PlanAdmin
from catalog.models import Plan
from core.confirm import ActionPermissionMixin, confirm_then, staff_actor
from core.errors import ServiceError
from core.models import Alert
from provisioning.models import ProvisioningAttempt

# An address as customers quote it: IPv4 or a host name, then the port.
_ADDRESS = re.compile(r"^\s*(?P<host>[A-Za-z0-9.\-]+):(?P<port>\d{1,5})\s*$")


class OrderEventInline(TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "from_status", "to_status", "actor", "reason"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the audit trail is never edited


class AttemptInline(TabularInline):
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

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SuspendForm(forms.Form):
    note = forms.CharField(
        max_length=120, required=False, help_text="Why (kept in the audit trail)."
    )


class RefundForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[
            ("requested_by_customer", "Requested by the customer"),
            ("duplicate", "Duplicate payment"),
            ("fraudulent", "Fraudulent payment"),
        ]
    )


# Which buttons an order in each status shows (the services refuse the rest anyway).
_BUTTONS: dict[str, tuple[str, ...]] = {
    OrderStatus.PAID: ("retry", "refund"),
    OrderStatus.ERROR: ("retry", "mark_resolved", "refund"),
    OrderStatus.PROVISIONED: ("suspend", "terminate", "refund"),
    OrderStatus.SUSPENDED: ("unsuspend", "terminate", "refund"),
    OrderStatus.TERMINATED: ("refund",),
}


@admin.register(Order)
class OrderAdmin(ActionPermissionMixin, ModelAdmin):
    list_display = [
        "id",
        "user",
        "plan",
        "region",
        "status",
        "server_name",
        "server_address",
        "ptero_identifier",
        "created_at",
    ]
    list_filter = ["status", "region", "plan"]
    list_select_related = ["user", "plan__game", "region"]
    # Exact matches on ids (indexed), partial on what people type. ip:port and the Stripe ids
    # we stored in stripe_references are added in get_search_results.
    search_fields = [
        "server_name",
        "server_address",
        "user__email",
        "=ptero_identifier",
        "=stripe_session_id",
        "=stripe_customer_id",
        "=stripe_payment_intent_id",
        "=stripe_subscription_id",
        "=stripe_charge_id",
        "=stripe_dispute_id",
        "=stripe_price_id",
    ]
    search_help_text = (
        "Server name, address ip:port, panel identifier, customer e-mail, order number or any "
        "Stripe id (cs_, pi_, sub_, in_, ch_, cus_, dp_, price_)."
    )
    inlines = [OrderEventInline, AttemptInline]
    actions = ["retry_provisioning", "mark_resolved"]
    actions_detail = [
        "detail_retry",
        "detail_mark_resolved",
        "detail_suspend",
        "detail_unsuspend",
        "detail_terminate",
        "detail_refund",
    ]
    fieldsets = (
        ("Order", {"fields": ("status", "user", "plan", "region", "server_name", "variables")}),
        (
            "Server",
            {
                "fields": (
                    "ptero_server_id",
                    "ptero_identifier",
                    "server_address",
                    "allocation",
                    "error_message",
                    "suspended_reason",
                    "order_alerts",
                )
            },
        ),
        (
            "Billing (Stripe's facts: read-only)",
            {
                "fields": (
                    ("amount_cents", "currency"),
                    "stripe_price_id",
                    "stripe_session_id",
                    "stripe_customer_id",
                    "stripe_payment_intent_id",
                    "stripe_charge_id",
                    "stripe_subscription_id",
                    "subscription_status",
                    "current_period_end",
                    "cancel_at_period_end",
                    "refunded_at",
                    "stripe_dispute_id",
                    "dispute_status",
                    "stripe_references",
                )
            },
        ),
        (
            "Times",
            {
                "fields": (
                    "created_at",
                    "paid_at",
                    "provisioned_at",
                    "installed_at",
                    "provisioning_attempts",
                    "lease_until",
                )
            },
        ),
    )

    # --- nothing on an order is typed by hand --------------------------------------------
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names = [f.name for f in Order._meta.fields]
        return [*names, "order_alerts", "stripe_references"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from checkout

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing on an order is edited in a form (a POST to the form is 403); staff act
        # through the buttons, each with its own permission and audit row.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and (obj.paid_at is not None or obj.status != OrderStatus.CANCELLED):
            return False  # a paid order is the record of a payment
        if obj is None:
            return False  # no bulk delete: it cannot tell paid rows apart
        return super().has_delete_permission(request, obj)

    # --- one permission per button (billing.Order Meta.permissions) -----------------------
    def has_retry_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("billing.retry_order"))

    def has_suspend_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("billing.suspend_order"))

    def has_terminate_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("billing.terminate_order"))

    def has_refund_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("billing.refund_order"))

    def get_actions_detail(self, request: HttpRequest, object_id: int) -> list[Any]:
        actions = super().get_actions_detail(request, object_id)
        order = Order.objects.filter(pk=object_id).first()
        shown = _BUTTONS.get(order.status, ()) if order else ()
        return [a for a in actions if a.method.original_function_name[7:] in shown]

    # --- read-only displays ---------------------------------------------------------------
    @admin.display(description="alerts")
    def order_alerts(self, obj: Order) -> str:
        rows = Alert.objects.filter(order_id=obj.pk).order_by("-created_at")[:20]
        if not rows:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> ({})',
            (
                (
                    reverse("admin:core_alert_change", args=[a.pk]),
                    a.title,
                    "resolved" if a.resolved_at else "open",
                )
                for a in rows
            ),
        )

    @admin.display(description="Stripe ids on record")
    def stripe_references(self, obj: Order) -> str:
        refs = StripeReference.objects.filter(order=obj).order_by("created_at", "id")
        return ", ".join(f"{r.kind} {r.stripe_id}" for r in refs) or "—"

    # --- search ---------------------------------------------------------------------------
    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term.strip()
        address = _ADDRESS.match(term)
        if address:
            host, port = address["host"], int(address["port"])
            found = queryset.filter(
                Q(server_address=term)
                | Q(allocation__port=port, allocation__ip=host)
                | Q(allocation__port=port, allocation__alias=host)
            )
            return found, False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if term:
            extra = Q(stripe_refs__stripe_id=term)
            if term.lstrip("#").isdigit():
                number = int(term.lstrip("#"))
                extra |= Q(pk=number) | Q(ptero_server_id=number)
            results = results | queryset.filter(extra)
            may_have_duplicates = True
        return results, may_have_duplicates

    # --- bulk actions (change list) -------------------------------------------------------
    @admin.action(description="Retry provisioning", permissions=["retry"])
    def retry_provisioning(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        from provisioning.services import order_retry

        for order in queryset:
            try:
                order_retry(order_id=order.pk, actor=staff_actor(request))
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"Order #{order.pk} queued for provisioning.")

    @admin.action(
        description="Mark resolved (adopt the server made by hand in the panel)",
        permissions=["retry"],
    )
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        from provisioning.services import order_mark_resolved

        for order in queryset:
            try:
                order_mark_resolved(order_id=order.pk, actor=staff_actor(request))
            except ServiceError as exc:
                self.message_user(request, f"Order #{order.pk}: {exc.message}", messages.WARNING)
            except Exception as exc:  # a PanelError: the panel's own words
                self.message_user(request, f"Order #{order.pk}: panel: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Order #{order.pk} marked resolved.")

    # --- the order page's buttons: confirm, then one service call -------------------------
    def _confirm(
        self, request: HttpRequest, object_id: str, name: str, **kwargs: Any
    ) -> HttpResponse:
        order = get_object_or_404(Order, pk=object_id)
        back = reverse("admin:billing_order_change", args=[order.pk])
        allowed = _BUTTONS.get(order.status, ())
        refusal = (
            ""
            if name in allowed
            else f"Order #{order.pk} is '{order.status}': this action does not apply."
        )
        return confirm_then(
            request,
            model_admin=self,
            action=name,
            back_url=back,
            refusal=kwargs.pop("refusal", "") or refusal,
            **kwargs,
        )

    @action(description="Retry", url_path="retry", permissions=["retry"])
    def detail_retry(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from provisioning.services import order_retry

        def run(data: dict[str, Any]) -> str:
            order_retry(order_id=int(object_id), actor=staff_actor(request))
            return f"Order #{object_id} queued for provisioning."

        return self._confirm(
            request,
            object_id,
            "retry",
            title=f"Retry provisioning order #{object_id}?",
            body="The order goes back to 'paid' and a worker provisions it again. The panel "
            "server is looked up by its external id first, so a server made by an earlier "
            "try is adopted, never doubled.",
            button="Retry provisioning",
            run=run,
        )

    @action(description="Mark resolved", url_path="mark-resolved", permissions=["retry"])
    def detail_mark_resolved(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from panel.errors import PanelError
        from provisioning.services import order_mark_resolved

        def run(data: dict[str, Any]) -> str:
            try:
                order_mark_resolved(order_id=int(object_id), actor=staff_actor(request))
            except PanelError as exc:
                raise ServiceError(f"panel: {exc}") from exc
            return f"Order #{object_id} marked resolved."

        order = get_object_or_404(Order, pk=object_id)
        return self._confirm(
            request,
            object_id,
            "mark_resolved",
            title=f"Mark order #{object_id} resolved?",
            body="Adopt the server you made by hand in the panel with external id "
            f"{order.panel_external_id}: its ids go on the order, which becomes 'provisioned'. "
            "Refused when the panel has no such server.",
            button="Mark resolved",
            run=run,
        )

    @action(description="Suspend", url_path="suspend", permissions=["suspend"])
    def detail_suspend(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from provisioning.operator import order_staff_suspend

        def run(data: dict[str, Any]) -> str:
            order_staff_suspend(
                order_id=int(object_id), actor=staff_actor(request), note=data.get("note", "")
            )
            return f"Order #{object_id}: server suspended."

        return self._confirm(
            request,
            object_id,
            "suspend",
            title=f"Suspend the server of order #{object_id}?",
            body="The panel suspends the server (the customer cannot start it). It stays "
            "suspended, whatever billing does, until staff unsuspend it.",
            button="Suspend",
            run=run,
            form_class=SuspendForm,
        )

    @action(description="Unsuspend", url_path="unsuspend", permissions=["suspend"])
    def detail_unsuspend(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from provisioning.operator import order_staff_unsuspend

        def run(data: dict[str, Any]) -> str:
            order_staff_unsuspend(order_id=int(object_id), actor=staff_actor(request))
            return f"Order #{object_id}: server unsuspended."

        return self._confirm(
            request,
            object_id,
            "unsuspend",
            title=f"Unsuspend the server of order #{object_id}?",
            body="The panel lifts the suspension. Refused while billing itself keeps the "
            "server suspended (a dispute, an unpaid subscription).",
            button="Unsuspend",
            run=run,
        )

    @action(description="Terminate", url_path="terminate", permissions=["terminate"])
    def detail_terminate(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from provisioning.operator import order_staff_terminate

        def run(data: dict[str, Any]) -> str:
            order_staff_terminate(order_id=int(object_id), actor=staff_actor(request))
            return f"Order #{object_id}: server deleted in the panel, order terminated."

        return self._confirm(
            request,
            object_id,
            "terminate",
            title=f"Terminate order #{object_id}?",
            body="Its subscription (if any) is cancelled in Stripe now, then the server and "
            "its files are deleted in the panel. This cannot be undone. No refund is made: "
            "use Refund for that.",
            button="Delete the server",
            run=run,
        )

    @action(description="Refund", url_path="refund", permissions=["refund"])
    def detail_refund(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from billing.operator import order_refund, order_refund_refusal

        order = get_object_or_404(Order, pk=object_id)

        def run(data: dict[str, Any]) -> str:
            refund = order_refund(
                order_id=order.pk, actor=staff_actor(request), reason=data["reason"]
            )
            return (
                f"Order #{order.pk}: refund {refund.get('id')} made in Stripe; the order "
                "follows when Stripe's charge.refunded event arrives."
            )

        money = f"{order.amount_cents / 100:.2f} {order.currency.upper()}"
        return self._confirm(
            request,
            object_id,
            "refund",
            title=f"Refund order #{order.pk} ({money})?",
            body=f"Stripe refunds {money} in full to the customer. Then, as for any refund, "
            "the server follows REFUND_ACTION (by default it is deleted).",
            button="Refund through Stripe",
            run=run,
            form_class=RefundForm,
            refusal=order_refund_refusal(order),
        )


# --- plans: the Stripe price is made by the console, never typed (docs/console.md) -------------
_PRICE_TERMS = ("price_cents", "currency", "recurring_interval")


class PlanConsoleForm(forms.ModelForm):
    class Meta:
        model = Plan
        # Every plan field; the admin's fieldsets choose what shows (stripe_price_id read-only).
        exclude: list[str] = []

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # the model's own rules first (variables, port range...)
        if self.errors:
            return
        plan = self.instance
        changed = any(name in self.changed_data for name in _PRICE_TERMS)
        if plan.stripe_price_id and not changed and plan.pk:
            return
        from billing.operator import plan_price_create

        try:
            published = plan_price_create(
                slug=plan.slug,
                product_name=f"{plan.game.name} {plan.name}",
                price_cents=plan.price_cents,
                currency=plan.currency.lower(),
                recurring_interval=plan.recurring_interval,
            )
        except ServiceError as exc:
            self.add_error(None, exc.message)
        except Exception as exc:  # Stripe unreachable, no key configured
            self.add_error(None, f"The Stripe price could not be created: {exc}")
        else:
            plan.stripe_price_id = published.price_id


@admin.register(Plan)
class ConsolePlanAdmin(PlanAdmin):
    form = PlanConsoleForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if any(name in form.changed_data for name in _PRICE_TERMS) or not change:
            messages.success(request, f"Stripe price {obj.stripe_price_id} created for {obj}.")


# --- users and groups on the console's theme ---------------------------------------------------
admin.site.unregister(Group)


@admin.register(Group)
class ConsoleGroupAdmin(GroupAdmin, ModelAdmin):
    """The staff roles (support, owner) are groups: console/migrations/0001_staff_roles.py."""
