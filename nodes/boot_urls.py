"""Node-facing URLs under ``/boot/`` (no login; see nodes.boot_views)."""

from __future__ import annotations

from django.urls import path

from hierarchy import boot_views as hierarchy_boot_views
from nodes import boot_views

app_name = "boot"

urlpatterns = [
    path("ipxe", boot_views.ipxe_script, name="ipxe"),
    path("status", boot_views.status_report, name="status"),
    path("enrol", hierarchy_boot_views.enrol_view, name="enrol"),
    path("images/<str:image>/<str:version>/<str:filename>", boot_views.artifact, name="artifact"),
]
