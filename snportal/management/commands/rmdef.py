"""``rmdef -t node -o <noderange>``, as xCAT's: names that are not defined are reported
(``Error: Could not find an object named …``, exit 1) and the others are removed."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from snportal import defs
from snportal.management.commands._cli import (
    actor,
    add_user_argument,
    exit_failed,
    print_errors,
)
from snportal.management.commands._defcommon import present


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
            found, missing = present(deftype, spec)
            with transaction.atomic():
                report = deftype.remove(found, actor=who) if found else defs.ApplyReport()
        except defs.DefError as e:
            raise CommandError(str(e)) from None
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
