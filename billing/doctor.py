"""Billing's checks for `manage.py doctor`: the Stripe keys are set and this installation's
webhook endpoint sends every event billing handles."""

from __future__ import annotations

from django.conf import settings

from core.doctor import CHECKS, Check


def _check_stripe() -> Check:
    check = Check("The Stripe secret key and webhook secret are set")
    if not settings.STRIPE_SECRET_KEY:
        check.problems.append("STRIPE_SECRET_KEY is not set (sk_live_... or sk_test_...)")
    if not settings.STRIPE_WEBHOOK_SECRET:
        check.problems.append(
            "STRIPE_WEBHOOK_SECRET is not set (whsec_..., from the webhook endpoint in Stripe)"
        )
    return check


def _check_stripe_webhook() -> Check:
    check = Check("This installation's Stripe webhook endpoint sends every handled event")
    if not settings.STRIPE_SECRET_KEY:
        check.problems.append("cannot be checked without STRIPE_SECRET_KEY")
        return check
    from billing.setup import webhook_endpoint_problems

    check.problems.extend(webhook_endpoint_problems())
    return check


def register() -> None:
    CHECKS.register("stripe", _check_stripe)
    CHECKS.register("stripe_webhook", _check_stripe_webhook)
