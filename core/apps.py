from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(create_cache_table, sender=self)


def create_cache_table(using: str = "default", **_: object) -> None:
    """`migrate` also creates the cache table (DatabaseCache, settings.CACHES): wherever the
    schema is made (make run, CI, the test database, a release) the login limits' store exists.
    `createcachetable` skips tables that exist and caches that are not database caches."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
