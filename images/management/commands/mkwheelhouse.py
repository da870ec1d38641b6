"""``mkwheelhouse [--target DIR]``: build the service image's otherpkgdir.

The seed's otherpkgdir step (xcat-core, xcat-dep): the service nodes' Python packages as
wheels, and a snapshot of this checkout's source, so ``genimage`` of a service image
installs snportal without the network. Run it again after changing the code (or use
``make wheelhouse``), then genimage/packimage the service image (docs/hierarchy.md).
"""

from __future__ import annotations

import subprocess
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from images import wheelhouse


def default_target() -> Path:
    """Where the default service definition's otherpkgdir points."""
    return Path(settings.VAR_DIR).resolve() / "wheelhouse"


class Command(BaseCommand):
    help = "Build var/wheelhouse: the service image's wheels and snportal source snapshot."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--target", type=Path, help=f"default: {default_target()}")

    def handle(self, *args: Any, **options: Any) -> None:
        target = (options["target"] or default_target()).resolve()
        try:
            wheelhouse.build_wheelhouse(target, log=self.stdout.write)
        except (subprocess.CalledProcessError, ValueError, OSError) as e:
            raise CommandError(f"mkwheelhouse: {e}") from None
