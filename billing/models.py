"""Orders, their audit trail, and the log of Stripe events."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import TimeStampedModel


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    """Order written and capacity reserved; the customer has not paid yet."""
    PAID = "paid", "Paid"
    """Stripe confirmed payment; provisioning is queued."""
    PROVISIONING = "provisioning", "Provisioning"
    """A worker is creating the panel user and server."""
    PROVISIONED = "provisioned", "Provisioned"
    """The panel server exists; its ids are on the order."""
    ERROR = "error", "Error"
    """Provisioning stopped on an error an operator must look at (see error_message)."""
    SUSPENDED = "suspended", "Suspended"
    """The panel confirmed the server is suspended (non-payment, dispute)."""
    CANCELLED = "cancelled", "Cancelled"
    """Never paid (checkout expired or abandoned); the reservation is released."""
    TERMINATED = "terminated", "Terminated"
    """The panel server was deleted at the end of the customer's service."""
    REFUNDED = "refunded", "Refunded"
    """The payment was refunded."""


class Order(TimeStampedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="orders")
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="orders")
    # At most SERVER_NAME_MAX (60) characters for new orders (billing.services); the column
    # keeps 191 for orders taken before.
    server_name = models.CharField(max_length=191)
    # Egg variables the customer chose at checkout (env name -> value), validated then.
    variables = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True
    )
    amount_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    # The Stripe price the customer ordered (the plan's at checkout): a paid session must
    # carry exactly this price (docs/billing-lifecycle.md, "What a paid session must match").
    stripe_price_id = models.CharField(max_length=255, blank=True)
    # Counts our state-changing Stripe requests for this order (cancel, resume, plan change):
    # part of each idempotency key, so a second cancel after a resume is a new request.
    stripe_request_seq = models.PositiveIntegerField(default=0)
    # The port reserved at checkout, then the server's primary allocation. Unique: one order
    # per port. Released (NULL) when an unpaid order is cancelled.
    allocation = models.OneToOneField(
        "catalog.Allocation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="order",
    )
    # The hold: until when the reserved capacity is kept for this unpaid checkout. The Checkout
    # Session's expires_at is the same moment, so Stripe cannot take a payment after it.
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    # The open Checkout Session's page, for "Complete payment" while the hold lasts.
    checkout_url = models.TextField(blank=True)
    ptero_server_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
    ptero_identifier = models.CharField(max_length=64, blank=True)
    server_address = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    provisioned_at = models.DateTimeField(null=True, blank=True)
    # The panel reported the install finished (status no longer 'installing').
    installed_at = models.DateTimeField(null=True, blank=True)
    # When the reconciler alerted about this order, so each problem is reported once.
    install_alerted_at = models.DateTimeField(null=True, blank=True)
    vanished_alerted_at = models.DateTimeField(null=True, blank=True)
    provisioning_attempts = models.PositiveIntegerField(default=0)
    # --- Billing lifecycle (subscriptions, refunds, disputes): copies of Stripe's current
    # state, refreshed from the API after each event, so the order of events never matters.
    stripe_subscription_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    subscription_status = models.CharField(max_length=32, blank=True)
    current_period_end = models.DateTimeField(
        null=True, blank=True, help_text="paid until; the renewal date shown to the customer"
    )
    cancel_at_period_end = models.BooleanField(default=False)
    subscription_ended_at = models.DateTimeField(null=True, blank=True)
    # When the unpaid invoice was first attempted (start of the grace period); cleared on payment.
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    stripe_dispute_id = models.CharField(max_length=255, blank=True)
    dispute_status = models.CharField(
        max_length=32, blank=True, help_text="Stripe's dispute status"
    )
    suspended_reason = models.CharField(max_length=191, blank=True)
    termination_warned_at = models.DateTimeField(null=True, blank=True)
    # Set while the panel build (plan change) still has to be applied.
    build_pending = models.BooleanField(default=False)
    # While 'provisioning', the worker holding the order; past this time it is presumed dead.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "orders"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="orders_status_created")]
        # The console's order buttons, one permission each (docs/console.md, "Roles").
        permissions = [
            ("retry_order", "Can retry a failed order or mark it resolved"),
            ("suspend_order", "Can suspend and unsuspend an order's server"),
            ("terminate_order", "Can delete an order's server in the panel"),
            ("refund_order", "Can refund an order through Stripe"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"

    @property
    def panel_external_id(self) -> str:
        """The server's external_id in the panel: derived from the order, so a retry finds it."""
        return f"{settings.PANEL_EXTERNAL_ID_PREFIX}-order-{self.pk}"


class OrderPort(models.Model):
    """An extra port of an order, beside its primary (`Order.allocation`): one row per slot of
    the plan's port template (catalog/ports.py). The allocation is unique here as the primary
    is on the order, and the checkout writes the order and all its rows in one savepoint, so
    an order holds its whole set or nothing, and no port is held twice. The rows go with the
    primary: released together (cancel, termination)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="ports")
    allocation = models.OneToOneField(
        "catalog.Allocation", on_delete=models.CASCADE, related_name="order_port"
    )
    # "+k" or "any:<ENV_NAME>" (catalog.ports.Template.slots).
    slot = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "order_ports"
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "slot"], name="order_port_slot_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.slot} -> allocation {self.allocation_id}"


class OrderEvent(models.Model):
    """One row per status change: who, when, from, to, why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.CharField(max_length=191, help_text="webhook evt_..., worker, staff:<email>")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "order_events"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.order_id}: {self.from_status or '-'} -> {self.to_status}"


class StripeEventStatus(models.TextChoices):
    PROCESSED = "processed", "Processed"
    """The event changed (or confirmed) our state."""
    IGNORED = "ignored", "Ignored"
    """Not an event we act on, or not about one of our orders."""
    FAILED = "failed", "Failed"
    """Handling raised an error; see `error`. Reprocess from the admin."""
    WRONG_VERSION = "wrong_version", "Wrong API version"
    """Rendered at another API version than ours: stored, not acted on. The same event
    delivered again at our version (after `manage.py stripe_setup`) is processed."""


class StripeEvent(models.Model):
    """Every verified Stripe event, once (the event id is unique)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    livemode = models.BooleanField(default=False)
    api_version = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=StripeEventStatus.choices)
    error = models.TextField(blank=True)
    # What handling concluded, e.g. why an event was ignored ("charge ch_... is not one of ours").
    note = models.TextField(blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="stripe_events"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "stripe_events"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class StripeRefKind(models.TextChoices):
    SESSION = "checkout_session", "Checkout Session"
    """Created by us at checkout."""
    PAYMENT_INTENT = "payment_intent", "PaymentIntent"
    """A one-off session's, or an invoice payment's of one of our subscriptions."""
    SUBSCRIPTION = "subscription", "Subscription"
    """Created by the order's own (proven) Checkout Session."""
    INVOICE = "invoice", "Invoice"
    """An invoice of one of our subscriptions."""
    CHARGE = "charge", "Charge"
    """A charge of one of our PaymentIntents."""


class StripeReference(models.Model):
    """The Stripe ids that prove an event is about an order: each was stored when we created
    the object, or when we first saw it under an id already proven ours (a session's
    subscription, a subscription's invoice, an invoice's PaymentIntent, its charge). Stripe
    ids are unique across the account, so one id belongs to at most one order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="stripe_refs")
    kind = models.CharField(max_length=20, choices=StripeRefKind.choices)
    stripe_id = models.CharField(max_length=255, unique=True)
    # How we learned it: "created at checkout", "session cs_...", "invoice_payments of pi_...".
    source = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "stripe_references"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.stripe_id} -> order #{self.order_id}"
