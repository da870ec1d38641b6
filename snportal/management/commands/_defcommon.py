"""Argument shapes and the all-or-nothing apply shared by mkdef and chdef."""

from __future__ import annotations

import inspect
from argparse import ArgumentParser
from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from snportal import defs
from snportal.management.base import PortalCommand
from snportal.management.commands._cli import (
    exit_failed,
    intermixed,
    print_errors,
    print_warnings,
)
from xcat import stanza

# Objects other objects refer to go first: nodes name osimages, groups list nodes.
_ORDER = {"osimage": 0, "node": 1, "group": 2}


def object_args(parser: ArgumentParser) -> None:
    parser.add_argument("-t", dest="objtype", default="node", help="object type (node)")
    parser.add_argument("-o", dest="objects", help="object names (a noderange for nodes)")
    parser.add_argument("-z", "--stanza", action="store_true", help="read a stanza file on stdin")
    parser.add_argument("words", nargs="*", metavar="[noderange] attr=value")
    intermixed(parser)


def parse_assignments(words: list[str]) -> tuple[str | None, dict[str, str]]:
    """xCAT's ``[noderange] attr=value …``: a first word without ``=`` names the objects."""
    spec = None
    if words and "=" not in words[0]:
        spec, words = words[0], words[1:]
    attrs: dict[str, str] = {}
    for word in words:
        attr, sep, value = word.partition("=")
        if not sep or not attr:
            raise CommandError(f"{word!r} is not attr=value")
        attrs[attr] = value
    return spec, attrs


def present(deftype: defs.DefType, spec: str) -> tuple[list[str], list[str]]:
    """(defined names, names that are not) for lsdef/rmdef/chdef, which report the missing
    ones and go on, as xCAT's do. A type without ``resolve_present`` refuses unknown names."""
    find = getattr(deftype, "resolve_present", None)
    if find is None:
        return deftype.resolve(spec, allow_files=True), []
    return find(spec, allow_files=True)


def single_object(
    command: PortalCommand, options: dict[str, Any], *, create: bool
) -> defs.ApplyReport:
    """mkdef/chdef with ``-o`` and ``attr=value`` words."""
    positional, attrs = parse_assignments(options["words"])
    spec = options["objects"] or positional
    if not spec:
        raise CommandError("No object names were provided.")
    op = defs.PLUS if options.get("plus") else defs.MINUS if options.get("minus") else defs.SET
    who = command.who  # PortalCommand: the --user, checked for the admin role
    deftype = defs.get(options["objtype"])
    with transaction.atomic():  # a DefError rolls back and is the command's error message
        if create:
            make = getattr(deftype, "new_names", None)
            names = make(spec) if make else [n for n in spec.split(",") if n]
            made = [stanza.Stanza(n, deftype.objtype, attrs) for n in names]
            report = deftype.apply(
                made, replace=options.get("force", False), change_only=False, actor=who
            )
        else:
            found, missing = present(deftype, spec)
            kwargs = {} if op == defs.SET else {"op": op}
            if kwargs and "op" not in inspect.signature(deftype.change).parameters:
                raise defs.DefError(f"-p and -m mean nothing for {deftype.objtype} objects")
            # chdef creates what does not exist yet, as xCAT's does.
            report = deftype.change([*found, *missing], attrs, actor=who, **kwargs)
    print_warnings(command.stderr, report.warnings)
    return report


def finish(command: BaseCommand, report: defs.ApplyReport, *, empty_is_error: bool) -> None:
    """xCAT's closing lines: the count (and chdef's new objects), or the errors and exit 1."""
    print_errors(command.stderr, report.errors)
    if report.errors:
        print_errors(
            command.stderr,
            [
                "One or more errors occured when attempting to create or modify xCAT "
                "object definitions."
            ],
        )
        exit_failed()
    count = len(report.created) + len(report.changed)
    if count == 0 and empty_is_error:
        raise CommandError("No object names were provided.")
    command.stdout.write(f"{count} object definitions have been created or modified.")
    if report.new:
        command.stdout.write(f"New object definitions '{','.join(report.new)}' have been created.")


def apply_stanzas(
    command: PortalCommand,
    text: str,
    options: dict[str, Any],
    *,
    replace: bool = False,
    change_only: bool = False,
) -> defs.ApplyReport:
    """Every object of a stanza file, of any registered type, in one transaction."""
    who = command.who  # PortalCommand: the --user, checked for the admin role
    try:
        objects = stanza.parse(text)
    except stanza.StanzaError as e:
        raise CommandError(f"stanza file: {e}; nothing was written") from None
    by_type: dict[str, list[stanza.Stanza]] = defaultdict(list)
    for s in objects:
        by_type[s.objtype].append(s)
    total = defs.ApplyReport()
    try:
        deftypes = {t: defs.get(t) for t in by_type}
        with transaction.atomic():
            for objtype in sorted(by_type, key=lambda t: _ORDER.get(t, 1)):
                report = deftypes[objtype].apply(
                    by_type[objtype], replace=replace, change_only=change_only, actor=who
                )
                total.created += report.created
                total.changed += report.changed
                total.warnings += report.warnings
                total.errors += report.errors
                total.new += report.new
    except defs.DefError as e:
        raise CommandError(f"{e}\nnothing was written") from None
    print_warnings(command.stderr, total.warnings)
    return total
