from __future__ import annotations

from django.urls import path

from images import views

app_name = "images"

urlpatterns = [
    path("", views.image_list, name="list"),
    path("new/", views.image_create, name="create"),
    path("<str:name>/", views.image_detail, name="detail"),
    path("<str:name>/edit/", views.image_edit, name="edit"),
    path("<str:name>/copy/", views.image_copy, name="copy"),
    path("<str:name>/delete/", views.image_delete, name="delete"),
    path("<str:name>/history/<str:attr>/", views.image_history, name="history"),
    path("<str:name>/genimage/", views.image_genimage, name="genimage"),
    path("<str:name>/packimage/", views.image_packimage, name="packimage"),
    path("<str:name>/rollback/", views.image_rollback, name="rollback"),
]
