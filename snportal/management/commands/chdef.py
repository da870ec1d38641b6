"""``chdef -t node -o <noderange> attr=val…`` and ``chdef -z < file.stanza``, as xCAT's."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from snportal.management.commands._cli import add_user_argument
from snportal.management.commands._defcommon import apply_stanzas, object_args, single_object


class Command(BaseCommand):
    help = "Change attributes of existing objects, or as a stanza file on stdin says (-z)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        object_args(parser)
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stanza"]:
            report = apply_stanzas(self, sys.stdin.read(), options, change_only=True)
        else:
            report = single_object(self, options, create=False)
        count = len(report.created) + len(report.changed)
        self.stdout.write(f"{count} object definitions have been created or modified.")
