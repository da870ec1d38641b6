"""``rmdef -t node -o <noderange>``, as xCAT's."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from snportal import defs
from snportal.management.commands._cli import actor, add_user_argument


class Command(BaseCommand):
    help = "Remove object definitions."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("-t", dest="objtype", default="node", help="object type (node)")
        parser.add_argument("-o", dest="objects", help="object names (a noderange for nodes)")
        parser.add_argument("noderange", nargs="?", help="same as -o")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        spec = options["objects"] or options["noderange"]
        if not spec:
            raise CommandError("name the objects to remove with -o (rmdef never removes all)")
        who = actor(options, "admin")
        try:
            deftype = defs.get(options["objtype"])
            with transaction.atomic():
                report = deftype.remove(deftype.resolve(spec, allow_files=True), actor=who)
        except defs.DefError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"{len(report.removed)} object definitions have been removed.")
