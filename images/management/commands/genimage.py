"""``genimage NAME``: build an osimage's root tree, kernel and initrd, as xCAT's genimage."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from images import services
from images.management.commands._build import run_in_foreground
from images.models import OsImage
from snportal.management.commands._cli import actor, add_user_argument


class Command(BaseCommand):
    help = "Build the root filesystem of an osimage (runs as a job, in the foreground)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("imagename")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        who = actor(options, "images.build_osimage")
        image = OsImage.objects.filter(imagename=options["imagename"]).first()
        if image is None:
            raise CommandError(f"no osimage named {options['imagename']!r} (lsdef -t osimage)")
        try:
            job = services.start_build(image, "genimage", actor=who, submit=False)
        except services.BuildError as e:
            raise CommandError(str(e)) from None
        run_in_foreground(self, job)
