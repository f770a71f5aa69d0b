from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from provisioning import receivers

        receivers.connect()  # billing's order_paid / order_billing_changed (billing/signals.py)
