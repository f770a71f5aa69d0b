"""Prepare the offline demo (`make run` calls this once the sandboxes are up): panel secrets,
catalogue synced from the panel sandbox, demo games/plans/regions, a customer and an operator.
Safe to run again: everything is created or updated in place."""

from __future__ import annotations

import os
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from catalog.services import catalog_load_demo
from core.secrets import secret_set


class Command(BaseCommand):
    help = "Load the demo catalogue and accounts against the panel sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--panel-url", required=True)
        parser.add_argument("--panel-public-url", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        app_key = os.environ.get("PANEL_SANDBOX_APP_KEY")
        client_key = os.environ.get("PANEL_SANDBOX_CLIENT_KEY")
        password = os.environ.get("DEMO_PASSWORD")
        if not (app_key and client_key and password):
            raise CommandError(
                "PANEL_SANDBOX_APP_KEY, PANEL_SANDBOX_CLIENT_KEY and DEMO_PASSWORD must be set "
                "(make run writes them to .env)."
            )
        # Stored exactly as a real panel's would be: encrypted, in the secrets table.
        secret_set(name="panel.PANEL_URL", value=options["panel_url"])
        secret_set(name="panel.PANEL_APP_KEY", value=app_key)
        secret_set(name="panel.PANEL_CLIENT_KEY", value=client_key)
        secret_set(
            name="panel.PANEL_PUBLIC_URL", value=options["panel_public_url"] or options["panel_url"]
        )
        call_command("panel_sync", stdout=self.stdout)
        catalog_load_demo()
        self._user("demo@givrwrld.test", password, staff=False, first="Demo", last="Customer")
        self._user("admin@givrwrld.test", password, staff=True, first="Demo", last="Operator")
        self.stdout.write(self.style.SUCCESS("Demo catalogue and accounts ready."))

    def _user(self, email: str, password: str, *, staff: bool, first: str, last: str) -> None:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, first_name=first, last_name=last)
        user.is_staff = user.is_superuser = staff
        user.set_password(password)
        user.save()
        # allauth requires a verified address to log in; the demo accounts need no e-mail.
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
