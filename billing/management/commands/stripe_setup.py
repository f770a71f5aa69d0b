"""`manage.py stripe_setup`: create or update this installation's Stripe webhook endpoint
(API_URL + /api/stripe/webhook, exactly the handled events, the pinned API version) and print
the signing secret to store as STRIPE_WEBHOOK_SECRET when there is a new one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.events import HANDLED_EVENTS, PINNED_API_VERSION
from billing.setup import webhook_endpoint_setup, webhook_url
from billing.stripe_gateway import StripeRefused
from core.errors import ConfigurationError, ServiceError


class Command(BaseCommand):
    help = "Create or update this installation's Stripe webhook endpoint."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = webhook_endpoint_setup()
        except ServiceError as exc:  # Stripe unreachable
            raise CommandError(exc.message) from exc
        except (StripeRefused, ConfigurationError) as exc:  # the key or the URL is wrong
            raise CommandError(f"{exc}") from exc
        self.stdout.write(
            f"Webhook endpoint {result.endpoint_id} {result.action}: {webhook_url()}, "
            f"API version {PINNED_API_VERSION}, {len(HANDLED_EVENTS)} events."
        )
        for removed in result.removed:
            self.stdout.write(f"Deleted endpoint {removed} (same URL, replaced).")
        if result.secret:
            self.stdout.write("Store its signing secret (Stripe shows it only now):")
            self.stdout.write(f"STRIPE_WEBHOOK_SECRET={result.secret}")
        else:
            self.stdout.write("The signing secret is unchanged (keep STRIPE_WEBHOOK_SECRET).")
