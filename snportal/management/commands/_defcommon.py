"""Argument shapes and the all-or-nothing apply shared by mkdef and chdef."""

from __future__ import annotations

from argparse import ArgumentParser
from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from snportal import defs
from snportal.lib import stanza
from snportal.management.commands._cli import actor, print_warnings

# Objects other objects refer to go first: nodes name osimages, groups list nodes.
_ORDER = {"osimage": 0, "node": 1, "group": 2}


def object_args(parser: ArgumentParser) -> None:
    parser.add_argument("-t", dest="objtype", default="node", help="object type (node)")
    parser.add_argument("-o", dest="objects", help="object names (a noderange for nodes)")
    parser.add_argument("-z", "--stanza", action="store_true", help="read a stanza file on stdin")
    parser.add_argument("words", nargs="*", metavar="[noderange] attr=value")


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


def single_object(
    command: BaseCommand, options: dict[str, Any], *, create: bool
) -> defs.ApplyReport:
    """mkdef/chdef with ``-o`` and ``attr=value`` words."""
    positional, attrs = parse_assignments(options["words"])
    spec = options["objects"] or positional
    if not spec:
        raise CommandError("name the objects with -o NAME (or as the first argument)")
    who = actor(options, "admin")
    try:
        deftype = defs.get(options["objtype"])
        with transaction.atomic():
            if create:
                make = getattr(deftype, "new_names", None)
                names = make(spec) if make else [n for n in spec.split(",") if n]
                made = [stanza.Stanza(n, deftype.objtype, attrs) for n in names]
                report = deftype.apply(
                    made, replace=options.get("force", False), change_only=False, actor=who
                )
            else:
                names = deftype.resolve(spec, allow_files=True)
                report = deftype.change(names, attrs, actor=who)
    except defs.DefError as e:
        raise CommandError(str(e)) from None
    print_warnings(command.stderr, report.warnings)
    return report


def apply_stanzas(
    command: BaseCommand,
    text: str,
    options: dict[str, Any],
    *,
    replace: bool = False,
    change_only: bool = False,
) -> defs.ApplyReport:
    """Every object of a stanza file, of any registered type, in one transaction."""
    who = actor(options, "admin")
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
    except defs.DefError as e:
        raise CommandError(f"{e}\nnothing was written") from None
    print_warnings(command.stderr, total.warnings)
    return total
