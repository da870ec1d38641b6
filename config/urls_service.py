"""URLs of a service node's web process (``SNPORTAL_ROLE=service``): the boot service only.

Its compute nodes reach it for iPXE scripts, artifacts (from the local cache) and status
reports; pages, the admin and the cache endpoint stay on the management node.
"""

from __future__ import annotations

from django.urls import include, path

from snportal import views

urlpatterns = [
    path("boot/", include("nodes.boot_urls")),
    path("healthz", views.healthz, name="healthz"),
]
