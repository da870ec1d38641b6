"""``rollbackimage NAME [VERSION]``: list an osimage's packed versions, or make one current."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from images import services
from images.management.commands._build import find_image
from snportal.management.commands._cli import actor, add_user_argument


class Command(BaseCommand):
    help = "Make an older packed version of an osimage current again (without VERSION: list)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("imagename")
        parser.add_argument("version", nargs="?")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        image = find_image(options["imagename"])
        if not options["version"]:
            actor(options)
            for v in image.versions.all():
                mark = "*" if v.pk == image.current_version_id else " "
                self.stdout.write(
                    f"{mark} {v.version}  {v.created:%Y-%m-%d %H:%M:%S}  "
                    f"{v.method}/{v.compression}  {v.total_size} bytes"
                )
            return
        who = actor(options, "images.build_osimage")
        try:
            version = services.rollback(image, options["version"], actor=who)
        except services.BuildError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"{image.imagename}: current version is now {version.version}")
