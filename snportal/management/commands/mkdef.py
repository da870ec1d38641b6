"""``mkdef -t node -o NAME attr=val…`` and ``mkdef -z [-f] < file.stanza``, as xCAT's."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from snportal.management.base import PortalCommand
from snportal.management.commands._defcommon import (
    apply_stanzas,
    finish,
    object_args,
    single_object,
)


class Command(PortalCommand):
    help = "Create object definitions from attributes, or from a stanza file on stdin (-z)."
    permission = "admin"

    def add_arguments(self, parser: ArgumentParser) -> None:
        object_args(parser)
        parser.add_argument("-f", "--force", action="store_true", help="replace existing objects")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stanza"]:
            report = apply_stanzas(self, sys.stdin.read(), options, replace=options["force"])
        else:
            report = single_object(self, options, create=True)
        finish(self, report, empty_is_error=True)
