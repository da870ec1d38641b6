from __future__ import annotations

from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project as an app only for its management commands (``stopdb``); no models."""

    name = "config"
    verbose_name = "snportal project"
