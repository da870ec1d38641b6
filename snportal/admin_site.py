"""The Django admin, read-only for everything registered in it, by construction.

The admin writes rows directly: it skips the portal's validation (a group named
``<script>…``), its audit trail and its side effects (DHCP, boot tokens, jobs). Superusers
may still browse it to inspect data; every change goes through the portal's pages and CLI
verbs. The site wraps each registration, so a ModelAdmin added later (ours or a library's,
such as auth's User and Group or django-q2's) cannot reopen a write path by forgetting.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class ReadOnlyModelAdmin:
    """Mixed in front of every ModelAdmin: view, never add, change or delete."""

    def has_add_permission(self, request: Any, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: Any) -> dict:
        return {}


class ReadOnlyAdminSite(admin.AdminSite):
    """An admin site whose every registration is read-only."""

    site_header = "snportal data (read-only)"
    site_title = "snportal admin (read-only)"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, ReadOnlyModelAdmin):
            base = type(f"ReadOnly{base.__name__}", (ReadOnlyModelAdmin, base), {})
        super().register(model_or_iterable, base, **options)


class ReadOnlyAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`ReadOnlyAdminSite` as ``admin.site``."""

    default_site = "snportal.admin_site.ReadOnlyAdminSite"
