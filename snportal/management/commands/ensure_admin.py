"""``manage.py ensure_admin``: make sure an admin account exists (used by ``make run``)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from snportal import audit, roles, users

BANNER = "=" * 64


class Command(BaseCommand):
    help = (
        "Create the 'admin' account if no admin exists. Its password is SNPORTAL_ADMIN_PASSWORD, "
        "or generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default=os.environ.get("SNPORTAL_ADMIN_USER", "admin"))

    def handle(self, *args: Any, **opts: Any) -> None:
        name = opts["username"]
        User = get_user_model()
        if User.objects.filter(is_superuser=True, is_active=True).exists():
            self.stdout.write("admin account exists")
            return
        if User.objects.filter(username=name).exists():
            self.stdout.write(f"user {name} exists but is no active admin; left alone")
            return
        given = os.environ.get("SNPORTAL_ADMIN_PASSWORD", "")
        password = given or secrets.token_urlsafe(12)
        users.create_user(name, password, roles.ADMIN, actor=audit.cli_actor())
        if given:
            self.stdout.write(f"created admin account {name!r} (password: SNPORTAL_ADMIN_PASSWORD)")
            return
        self.stdout.write(
            "\n".join(
                [
                    BANNER,
                    "  created admin account",
                    f"    user:     {name}",
                    f"    password: {password}",
                    "  (shown once; set SNPORTAL_ADMIN_PASSWORD to choose it)",
                    BANNER,
                ]
            )
        )
