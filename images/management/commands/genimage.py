"""``genimage NAME``: build an osimage's root tree, kernel and initrd, as xCAT's genimage."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from images.management.commands._build import build
from snportal.management.commands._cli import add_user_argument


class Command(BaseCommand):
    help = "Build the root filesystem of an osimage (runs as a job, in the foreground)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("imagename")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        build(self, options, "genimage")
