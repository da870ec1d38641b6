"""``chdef [-t type] [-p|-m] [-o] <noderange> attr=val…``, ``chdef -z < file.stanza`` and
``chdef <node> -n <newname>``, as xCAT's: objects that do not exist yet are created."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from snportal import defs
from snportal.management.base import PortalCommand
from snportal.management.commands._defcommon import (
    apply_stanzas,
    finish,
    object_args,
    parse_assignments,
    single_object,
)


class Command(PortalCommand):
    help = (
        "Change attributes (creating objects that do not exist), append to (-p) or remove "
        "from (-m) list attributes, rename (-n), or apply a stanza file on stdin (-z)."
    )
    permission = "admin"

    def add_arguments(self, parser: ArgumentParser) -> None:
        object_args(parser)
        parser.add_argument("-p", "--plus", action="store_true", help="append to lists")
        parser.add_argument("-m", "--minus", action="store_true", help="remove from lists")
        parser.add_argument("-n", dest="newname", help="rename the one object named")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["plus"] and options["minus"]:
            raise CommandError("The flags '-p' and '-m' cannot be used together.")
        if options["newname"]:
            self._rename(options)
            return
        if options["stanza"]:
            if options["plus"] or options["minus"]:
                raise CommandError("-p and -m change attributes named on the command line")
            report = apply_stanzas(self, sys.stdin.read(), options, change_only=True)
        else:
            report = single_object(self, options, create=False)
        finish(self, report, empty_is_error=False)

    def _rename(self, options: dict[str, Any]) -> None:
        if options["plus"] or options["minus"] or options["stanza"]:
            raise CommandError("Cannot combine '-n' and '-d','-p','-m','-z','-w' options.")
        positional, attrs = parse_assignments(options["words"])
        spec = options["objects"] or positional
        if not spec or "," in spec or attrs:
            raise CommandError(
                "The '-n' option (changing object name) can only work on one object."
            )
        deftype = defs.get(options["objtype"])
        rename = getattr(deftype, "rename", None)
        if rename is None:
            raise defs.DefError(f"-n cannot rename {deftype.objtype} objects")
        with transaction.atomic():
            rename(spec, options["newname"], actor=self.who)
        self.stdout.write(f"Changed the object name from {spec} to {options['newname']}.")
