"""``copycds <distro> [--mirror URL]``: register a distribution and its default osimages.

Unlike xCAT's copycds nothing is copied from a DVD: Debian builds fetch packages from
the mirror (by default the one this machine's apt uses), busybox from the host.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from images import services
from snportal.management.commands._cli import actor, add_user_argument


class Command(BaseCommand):
    help = f"Register a distribution ({', '.join(services.DISTROS)}) and its default osimages."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("distro", help=", ".join(services.DISTROS))
        parser.add_argument("--mirror", help="package mirror URL (Debian; default: apt's)")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        who = actor(options, "admin")
        try:
            source, created = services.copycds(
                options["distro"], mirror=options["mirror"], actor=who
            )
        except services.DefinitionError as e:
            raise CommandError(str(e)) from None
        where = f" from {source.mirror}" if source.mirror else ""
        self.stdout.write(f"{source.name}: registered ({source.builder} builder{where})")
        for image in source.images.order_by("imagename"):
            state = "created" if image in created else "exists"
            self.stdout.write(f"  {image.imagename}  ({state})")
