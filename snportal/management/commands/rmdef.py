"""``rmdef -t node -o <noderange>``, as xCAT's: names that are not defined are reported
(``Error: Could not find an object named …``, exit 1) and the others are removed."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from snportal import defs
from snportal.management.base import PortalCommand
from snportal.management.commands._cli import exit_failed, print_errors
from snportal.management.commands._defcommon import present


class Command(PortalCommand):
    help = "Remove object definitions."
    permission = "admin"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("-t", dest="objtype", default="node", help="object type (node)")
        parser.add_argument("-o", dest="objects", help="object names (a noderange for nodes)")
        parser.add_argument("noderange", nargs="?", help="same as -o")

    def handle(self, *args: Any, **options: Any) -> None:
        spec = options["objects"] or options["noderange"]
        if not spec:
            raise CommandError("name the objects to remove with -o (rmdef never removes all)")
        deftype = defs.get(options["objtype"])
        found, missing = present(deftype, spec)
        with transaction.atomic():
            report = deftype.remove(found, actor=self.who) if found else defs.ApplyReport()
        # As xCAT's: each missing name is an error, the others are removed, exit 1.
        print_errors(
            self.stderr,
            [f"Could not find an object named '{n}' of type '{deftype.objtype}'." for n in missing],
        )
        if report.removed:
            self.stdout.write(f"{len(report.removed)} object definitions have been removed.")
        else:
            self.stdout.write("No objects have been removed from the xCAT database.")
        if missing:
            exit_failed()
