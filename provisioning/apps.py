from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from provisioning import doctor, health, metrics, receivers

        receivers.connect()  # billing's order_paid / order_billing_changed (billing/signals.py)
        health.register()  # /readyz's backlog and provisioning checks (core/health.py)
        metrics.register()  # provisioning's parts of /metrics (core/metrics.py)
        doctor.register()  # doctor's panel client key check (core/doctor.py)
