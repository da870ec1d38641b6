from __future__ import annotations

from django.urls import path

from hierarchy import syslog_views, views

app_name = "hierarchy"

urlpatterns = [
    path("", views.servicenode_list, name="list"),
    path("snmove/", views.snmove, name="snmove"),
    path("<str:name>/syslog/", syslog_views.syslog, name="syslog"),
]
