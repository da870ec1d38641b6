from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "images"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from images.defs import OsImageDefs
        from snportal import defs

        defs.register(OsImageDefs())
        post_spawn.connect(_recover_on_worker_start, dispatch_uid="images.recover")


def _recover_on_worker_start(sender: Any, proc_name: str = "", **kwargs: Any) -> None:
    """A (re)started worker fails the builds a killed worker left and removes their trees."""
    from images.services import recover_interrupted_builds

    recover_interrupted_builds()
