"""Console records. The console server itself arrives with the consoles issue."""

from __future__ import annotations

from django.db import models


class ConsoleAccess(models.Model):
    """Anchor for the console verb permissions; it has no table and no rows.

    Permissions need a model to hang on; consoles have none of their own yet, and these
    verbs must exist now so that roles can be granted before the console server lands.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_console", "Can watch node consoles (read-only)"),
            ("write_console", "Can type into node consoles"),
        ]

    def __str__(self) -> str:
        return "console access"
