from __future__ import annotations

from django.apps import AppConfig


class SnportalConfig(AppConfig):
    """Cross-cutting pieces: roles, audit trail, jobs."""

    name = "snportal"
    verbose_name = "snportal"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from snportal import roles, signals  # noqa: F401 - connects login audit receivers

        post_migrate.connect(roles.sync_after_migrate, sender=self)
