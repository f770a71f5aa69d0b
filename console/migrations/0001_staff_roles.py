"""Staff roles as groups: *support* (view our apps, retry orders, acknowledge alerts) and
*owner* (every permission). Permissions are normally created after all migrations ran
(post_migrate), so this migration creates them first; running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.db import migrations

SUPPORT = "support"
OWNER = "owner"
PRODUCT_APPS = ("accounts", "billing", "catalog", "core", "provisioning")
SUPPORT_EXTRA = (("billing", "retry_order"), ("core", "acknowledge_alert"))


def create_roles(apps: Any, schema_editor: Any) -> None:
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=global_apps)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name=SUPPORT)
    views = Permission.objects.filter(
        content_type__app_label__in=PRODUCT_APPS, codename__startswith="view_"
    )
    extra = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in SUPPORT_EXTRA
    ]
    support.permissions.set([*views, *extra])
    owner, _ = Group.objects.get_or_create(name=OWNER)
    owner.permissions.set(Permission.objects.all())


def drop_roles(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=[SUPPORT, OWNER]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0001_initial"),
        ("billing", "0006_order_console_permissions"),
        ("catalog", "0003_lifecycle"),
        ("core", "0006_alert_acknowledge_resolve"),
        ("provisioning", "0002_attempt_outcome_interrupted"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
