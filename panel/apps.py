from django.apps import AppConfig


class PanelConfig(AppConfig):
    """The product's only Pterodactyl client. No models: nothing to migrate."""

    name = "panel"
    label = "panel"
    verbose_name = "Pterodactyl panel client"

    def ready(self) -> None:
        from panel import doctor, health

        health.register()  # /readyz's panel check (core/health.py lists it)
        doctor.register()  # doctor's panel check (core/doctor.py prints it)
