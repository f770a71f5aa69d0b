from django.apps import AppConfig


class PanelConfig(AppConfig):
    """The product's only Pterodactyl client. No models: nothing to migrate."""

    name = "panel"
    label = "panel"
    verbose_name = "Pterodactyl panel client"
