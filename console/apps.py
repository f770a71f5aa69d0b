from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator console: the dashboard's figures (dashboard.py), its view, the order
    admin and the staff roles. On top of the layering: it reads billing, provisioning and
    catalog and calls their services."""

    name = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from console.roles import roles_ensure

        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="console.roles_ensure")
