"""Console pages. Fixed paths come first; ``wall`` and ``ticket`` are not node names here."""

from __future__ import annotations

from django.urls import path

from consoles import views
from snportal import live_views

app_name = "consoles"

urlpatterns = [
    path("", views.index, name="index"),
    path("wall/", views.wall, name="wall"),
    path("ticket/", views.ticket, name="ticket"),
    path("events-ticket/", live_views.events_ticket, name="events_ticket"),
    path("<str:name>/", views.console, name="console"),
    path("<str:name>/log/", views.log, name="log"),
]
