from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from catalog import doctor

        doctor.register()  # doctor's plan, region and stock checks (core/doctor.py)
