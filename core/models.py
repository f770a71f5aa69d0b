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
