"""``manage.py mkuser NAME --role operator``: create a portal account from a script."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from snportal import audit, roles, users


class Command(BaseCommand):
    help = (
        "Create a user with a role. The password comes from --password, "
        "or is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=roles.ROLES, default=roles.VIEWER)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Use this password instead of a generated one")

    def handle(self, *args: Any, **opts: Any) -> None:
        name = opts["username"]
        if get_user_model().objects.filter(username__iexact=name).exists():
            raise CommandError(f"user {name!r} already exists; change it on the Users page.")
        password = opts["password"] or secrets.token_urlsafe(12)
        try:
            validate_password(password, get_user_model()(username=name))
        except ValidationError as exc:
            raise CommandError("password rejected: " + " ".join(exc.messages)) from None
        users.create_user(
            name, password, opts["role"], email=opts["email"], actor=audit.cli_actor()
        )
        self.stdout.write(f"{name}: created with role {opts['role']}")
        if not opts["password"]:
            self.stdout.write(f"{name}: password {password}  (shown once; change it after login)")
