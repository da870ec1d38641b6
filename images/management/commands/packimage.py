"""``packimage [-m cpio|squashfs] [-c zstd|pigz|gzip|xz] NAME``, as xCAT's packimage.

Packs the build tree into a new immutable version and makes it current when complete.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from images.management.commands._build import build
from images.pack import COMPRESSIONS, METHODS
from snportal.management.commands._cli import add_user_argument


class Command(BaseCommand):
    help = "Pack an osimage's build tree into a new version (runs as a job, in the foreground)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("-m", "--method", choices=METHODS, help="default: the image's")
        parser.add_argument("-c", "--compress", choices=COMPRESSIONS, help="default: the image's")
        parser.add_argument("imagename")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        build(self, options, "packimage", method=options["method"], compression=options["compress"])
