from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Secret(models.Model):
    """A configuration secret (panel URL and key, ...) encrypted at rest with AES-256-GCM.

    The value is never stored or shown in clear: `ciphertext` is nonce + GCM output, and the
    secret's name is the associated data, so a ciphertext copied onto another name won't decrypt.
    """

    name = models.CharField(max_length=191, unique=True)
    ciphertext = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "secrets"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Heartbeat(models.Model):
    """The last time a background loop proved it was alive (e.g. name 'worker')."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        db_table = "heartbeats"

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class Alert(models.Model):
    """Every alert sent to operators, so none is only a log line and they can be counted."""

    title = models.CharField(max_length=255)
    body = models.TextField()
    delivered = models.BooleanField(
        default=False, help_text="at least one ALERT_URLS target took it"
    )
    order_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who looks after it (console: Acknowledge), and who closed it (Resolve). An alert is
    # "open" until resolved; the dashboard counts open ones (docs/console.md, "Alerts").
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=191, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_by = models.CharField(max_length=191, blank=True)

    class Meta:
        db_table = "alerts"
        ordering = ["-created_at"]
        permissions = [("acknowledge_alert", "Can acknowledge and resolve alerts")]

    def __str__(self) -> str:
        return self.title


class MetricValue(models.Model):
    """A metric several processes add to (panel calls, ...), summed in the database so every
    web process's /metrics shows the same cluster-wide figure. See core/metrics.py."""

    name = models.CharField(max_length=100)
    labels = models.CharField(max_length=191, blank=True, help_text="sorted JSON of the labels")
    value = models.FloatField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "metric_values"
        constraints = [
            models.UniqueConstraint(fields=["name", "labels"], name="metric_values_name_labels")
        ]

    def __str__(self) -> str:
        return f"{self.name}{self.labels} = {self.value}"


class DutyLease(models.Model):
    """Who runs a periodic duty (reconcile, panel sync, ...) now, and when it last ran.

    Every worker runs the scheduler (core/duties.py); a worker takes a duty only by one
    conditional UPDATE on this row (due, and the lease free, expired or its own), so one worker
    runs a duty per interval, and a dead holder's lease simply runs out. docs/RELIABILITY.md.
    """

    name = models.CharField(max_length=64, unique=True)
    owner = models.CharField(
        max_length=100, blank=True, help_text="the worker that holds (or last held) the lease"
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="the lease runs out then; empty = free"
    )
    interval_seconds = models.FloatField(
        default=0, help_text="the interval the last runner was configured with"
    )
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="empty when the last run succeeded")
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "duty_leases"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner or 'free'})"


class SentMail(models.Model):
    """One row per customer mail, claimed before it is sent: `key` names what the mail is
    about (`order-12-receipt`), so a retried task, a duplicate webhook or a second worker
    never sends the same mail twice. See core/mail.py."""

    key = models.CharField(max_length=191, unique=True)
    kind = models.CharField(max_length=64, db_index=True)
    order_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="empty: not (yet) sent")
    error = models.TextField(blank=True, help_text="why sending failed, if it did")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "sent_mails"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key} -> {self.to}"


class PanelBudget(models.Model):
    """The shared pace of background panel calls (core/panel_budget.py): one row per budget.

    Every background call of every worker takes the next slot here under the row lock, so the
    calls of all processes together go out at most one per `60 / (limit x share)` seconds.
    """

    name = models.CharField(max_length=64, unique=True)
    next_at = models.FloatField(
        default=0, help_text="epoch seconds: the earliest the next background call may go"
    )
    calls = models.PositiveBigIntegerField(default=0, help_text="slots taken so far")

    class Meta:
        db_table = "panel_budgets"

    def __str__(self) -> str:
        return self.name
