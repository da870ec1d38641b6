"""Node-facing URLs under ``/boot/`` (no login; see nodes.boot_views)."""

from __future__ import annotations

from django.urls import path

from nodes import boot_views, extensions

app_name = "boot"

urlpatterns = [
    path("ipxe", boot_views.ipxe_script, name="ipxe"),
    path("status", boot_views.status_report, name="status"),
    path("images/<str:image>/<str:version>/<str:filename>", boot_views.artifact, name="artifact"),
    # Added by the apps built on nodes (hierarchy: enrol), installed before URLs load.
    *extensions.hooks.boot_patterns,
]
