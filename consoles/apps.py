from __future__ import annotations

from django.apps import AppConfig


class ConsolesConfig(AppConfig):
    name = "consoles"
