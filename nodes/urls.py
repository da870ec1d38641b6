"""Node pages. Fixed paths come first; their names are reserved as node names."""

from __future__ import annotations

from django.urls import path

from nodes import views

app_name = "nodes"

urlpatterns = [
    path("", views.node_list, name="list"),
    path("new/", views.node_create, name="create"),
    path("bulk-edit/", views.bulk_edit, name="bulk_edit"),
    path("import/", views.csv_import, name="import"),
    path("power/", views.power, name="power"),
    path("setboot/", views.setboot, name="setboot"),
    path("netboot/", views.netboot, name="netboot"),
    path("unknown-macs/", views.unknown_macs, name="unknown_macs"),
    path("progress/", views.boot_progress, name="progress"),
    path("groups/", views.group_list, name="group_list"),
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/<str:name>/", views.group_detail, name="group_detail"),
    path("groups/<str:name>/delete/", views.group_delete, name="group_delete"),
    path("<str:name>/", views.node_detail, name="detail"),
    path("<str:name>/edit/", views.node_edit, name="edit"),
    path("<str:name>/delete/", views.node_delete, name="delete"),
]
