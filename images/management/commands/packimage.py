"""``packimage [-m cpio|squashfs] [-c zstd|pigz|gzip|xz] NAME``, as xCAT's packimage.

Packs the build tree into a new immutable version and makes it current when complete.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from images.management.commands._build import BuildCommand
from images.pack import COMPRESSIONS, METHODS


class Command(BuildCommand):
    help = "Pack an osimage's build tree into a new version (runs as a job, in the foreground)."
    kind = "packimage"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("-m", "--method", choices=METHODS, help="default: the image's")
        parser.add_argument("-c", "--compress", choices=COMPRESSIONS, help="default: the image's")
        parser.add_argument("imagename")

    def handle(self, *args: Any, **options: Any) -> None:
        self.build(options["imagename"], method=options["method"], compression=options["compress"])
