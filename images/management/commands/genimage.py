"""``genimage NAME``: build an osimage's root tree, kernel and initrd, as xCAT's genimage."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from images.management.commands._build import BuildCommand


class Command(BuildCommand):
    help = "Build the root filesystem of an osimage (runs as a job, in the foreground)."
    kind = "genimage"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("imagename")

    def handle(self, *args: Any, **options: Any) -> None:
        self.build(options["imagename"])
