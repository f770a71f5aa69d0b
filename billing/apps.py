from typing import Any

from django.apps import AppConfig
from django.core import checks


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import doctor, metrics

        checks.register(check_signal_receivers)
        metrics.register()  # billing's parts of /metrics (core/metrics.py shows them)
        doctor.register()  # doctor's Stripe checks (core/doctor.py prints them)


def check_signal_receivers(app_configs: Any, **kwargs: Any) -> list[checks.Error]:
    """Billing hands paid orders and Stripe changes to provisioning by signal
    (billing/signals.py): with nobody listening, a paid order would never get its server."""
    from billing.signals import receivers_missing

    return [
        checks.Error(
            f"billing.signals.{name} has no receiver: paid orders and Stripe changes would "
            "queue nothing.",
            hint="Keep 'provisioning' in INSTALLED_APPS (its AppConfig.ready() connects them).",
            id="billing.E001",
        )
        for name in receivers_missing()
    ]
