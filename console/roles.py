"""The two staff roles the console ships (docs/console.md, "Roles").

*support*: view everything in our apps, retry (and mark resolved) failed orders, acknowledge
and resolve alerts. *owner*: every permission. Created by the data migration
console/0001_staff_roles and brought up to date after every `migrate` (post_migrate), so an
owner also holds the permissions of models added later, and a test database flushed between
tests gets them back.
"""

from __future__ import annotations

from typing import Any

SUPPORT = "support"
OWNER = "owner"

# Our apps: support may view everything in them (and nothing in auth: no user/group admin).
PRODUCT_APPS = ("accounts", "billing", "catalog", "core", "provisioning")
# Besides view: retry (and mark resolved) a failed order, acknowledge/resolve alerts.
SUPPORT_EXTRA = (("billing", "retry_order"), ("core", "acknowledge_alert"))


def roles_ensure(**kwargs: Any) -> None:
    """Idempotent: create every app's permissions, then set the two groups' permissions."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    support, _created = Group.objects.get_or_create(name=SUPPORT)
    views = Permission.objects.filter(
        content_type__app_label__in=PRODUCT_APPS, codename__startswith="view_"
    )
    extra = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in SUPPORT_EXTRA
    ]
    support.permissions.set([*views, *extra])
    owner, _created = Group.objects.get_or_create(name=OWNER)
    owner.permissions.set(Permission.objects.all())
