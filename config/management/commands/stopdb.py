"""``manage.py stopdb``: stop the embedded PostgreSQL (it outlives the processes using it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from config import embedded_db


class Command(BaseCommand):
    help = "Stop the embedded PostgreSQL under var/ (no effect when DATABASE_URL is set)."

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.DATABASE_URL:
            self.stdout.write("DATABASE_URL is set: the embedded database is not in use")
            return
        from django.db import connections

        connections.close_all()
        stopped = embedded_db.stop(settings.VAR_DIR)
        self.stdout.write(
            "embedded database stopped" if stopped else "embedded database was not running"
        )
