"""Django admin for images: read-only, for superusers inspecting data.

Definitions are edited through the portal's pages and verbs (validated, versioned,
audited); packed versions are written only by packimage.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from images.models import DistroSource, ImageVersion, OsImage, OsImageRevision


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(DistroSource)
class DistroSourceAdmin(ReadOnlyAdmin):
    list_display = ("name", "osvers", "arch", "builder", "suite", "mirror")


@admin.register(OsImage)
class OsImageAdmin(ReadOnlyAdmin):
    list_display = ("imagename", "osvers", "osarch", "profile", "current_version", "build_job")
    search_fields = ("imagename",)


@admin.register(ImageVersion)
class ImageVersionAdmin(ReadOnlyAdmin):
    list_display = ("image", "version", "method", "compression", "created")
    list_filter = ("method", "compression")


@admin.register(OsImageRevision)
class OsImageRevisionAdmin(ReadOnlyAdmin):
    list_display = ("image", "attr", "number", "author", "created")
    list_filter = ("attr",)
