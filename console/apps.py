from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator console: the dashboard's figures (dashboard.py), its view, the staff
    roles. On top of the layering: it reads billing, provisioning and catalog."""

    name = "console"
    verbose_name = "Console"
