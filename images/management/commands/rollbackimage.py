"""``rollbackimage NAME [VERSION]``: list an osimage's packed versions, or make one current."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from images import services
from images.management.commands._build import find_image
from snportal.management.base import PortalCommand


class Command(PortalCommand):
    help = "Make an older packed version of an osimage current again (without VERSION: list)."
    permission = "images.build_osimage"
    errors = (services.BuildError,)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("imagename")
        parser.add_argument("version", nargs="?")

    def required_permission(self, options: dict[str, Any]) -> str | None:
        return self.permission if options["version"] else None  # listing only reads

    def handle(self, *args: Any, **options: Any) -> None:
        image = find_image(options["imagename"])
        if not options["version"]:
            for v in image.versions.all():
                mark = "*" if v.pk == image.current_version_id else " "
                self.stdout.write(
                    f"{mark} {v.version}  {v.created:%Y-%m-%d %H:%M:%S}  "
                    f"{v.method}/{v.compression}  {v.total_size} bytes"
                )
            return
        version = services.rollback(image, options["version"], actor=self.who)
        self.stdout.write(f"{image.imagename}: current version is now {version.version}")
