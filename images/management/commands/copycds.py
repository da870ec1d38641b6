"""``copycds <distro> [--mirror URL]``: register a distribution and its default osimages.

Unlike xCAT's copycds nothing is copied from a DVD: Debian builds fetch packages from
the mirror (by default the one this machine's apt uses), busybox from the host.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from images import services
from snportal.management.base import PortalCommand


class Command(PortalCommand):
    help = f"Register a distribution ({', '.join(services.DISTROS)}) and its default osimages."
    permission = "admin"
    errors = (services.DefinitionError,)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("distro", help=", ".join(services.DISTROS))
        parser.add_argument("--mirror", help="package mirror URL (Debian; default: apt's)")

    def handle(self, *args: Any, **options: Any) -> None:
        source, created = services.copycds(
            options["distro"], mirror=options["mirror"], actor=self.who
        )
        where = f" from {source.mirror}" if source.mirror else ""
        self.stdout.write(f"{source.name}: registered ({source.builder} builder{where})")
        for image in source.images.order_by("imagename"):
            state = "created" if image in created else "exists"
            self.stdout.write(f"  {image.imagename}  ({state})")
