from __future__ import annotations

from django.db import models


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    """The server was created (or an existing one adopted) and recorded on the order."""
    RETRYING = "retrying", "Retrying"
    """A retryable panel error; another attempt is scheduled."""
    FAILED = "failed", "Failed"
    """A terminal error, or the last retry; the order is in 'error'."""
    RUNNING = "running", "Running"
    """Started and not finished: the worker is busy, or died here."""
    INTERRUPTED = "interrupted", "Interrupted"
    """Its worker died mid-try (no close recorded, lease expired): found by the next claim.
    A crash is not the panel's failure, so it does not count toward PROVISION_MAX_ATTEMPTS."""


class ProvisioningAttempt(models.Model):
    """One row per try at provisioning an order: what was called, what came back."""

    order = models.ForeignKey("billing.Order", on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    outcome = models.CharField(
        max_length=20, choices=AttemptOutcome.choices, default=AttemptOutcome.RUNNING
    )
    step = models.CharField(max_length=50, blank=True, help_text="the step that ended the try")
    panel_call = models.CharField(max_length=191, blank=True)
    panel_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "provisioning_attempts"
        ordering = ["order", "number"]

    def __str__(self) -> str:
        return f"#{self.order_id} try {self.number}: {self.outcome}"
