"""Top-level URLs. Each app mounts its own ``urls.py`` (with ``app_name``) here."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.dashboard import dashboard
from hierarchy import snweb
from snportal import views
from snportal.auth_views import LoginView

app_name = "snportal"

portal_patterns = [
    path("", dashboard, name="dashboard"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/check-workers/", views.check_workers, name="check_workers"),
    path("audit/", views.audit_list, name="audit_list"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
]

urlpatterns = [
    path("", include((portal_patterns, "snportal"))),
    path("images/", include("images.urls")),
    path("nodes/", include("nodes.urls")),
    path("hierarchy/", include("hierarchy.urls")),
    path("consoles/", include("consoles.urls")),
    path("boot/cache/<int:version_id>/<str:filename>", snweb.cache_file, name="boot_cache"),
    path("boot/", include("nodes.boot_urls")),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
