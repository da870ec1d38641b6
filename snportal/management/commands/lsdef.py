"""``lsdef [-t type] [-l|-s] [-i attrs] [-z] [--show-secrets] [noderange | -o names]``.

As xCAT's: with no names it lists ``name  (type)``; naming objects (or ``-l``, ``-i``)
prints their definitions; names that are not defined are reported as ``Error: Could not
find an object named …`` while the others are still listed, and the exit status is 1.
"""

from __future__ import annotations

import inspect
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from snportal import audit, defs
from snportal.management.base import PortalCommand
from snportal.management.commands._cli import admin_actor, exit_failed, print_errors
from snportal.management.commands._defcommon import present
from xcat import stanza
from xcat.noderange import compress


class Command(PortalCommand):
    help = "List object definitions: names, attributes (-l, -i) or a stanza file (-z)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("-t", dest="objtype", default="node", help="object type (node)")
        parser.add_argument("-o", dest="objects", help="object names (a noderange for nodes)")
        parser.add_argument("-l", "--long", action="store_true", help="every attribute")
        parser.add_argument("-s", "--short", action="store_true", help="names only")
        parser.add_argument("-i", dest="attrs", help="only these attributes (comma list)")
        parser.add_argument("-z", "--stanza", action="store_true", help="stanza file output")
        parser.add_argument("--files-dir", metavar="DIR", help="write referenced files here")
        parser.add_argument(
            "--show-secrets", action="store_true", help="show passwords (admins only, audited)"
        )
        parser.add_argument("noderange", nargs="?", help="same as -o")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["long"] and options["short"]:
            raise CommandError("The flags '-l' and '-s' cannot be used together.")
        if options["attrs"] and options["short"]:
            raise CommandError("The flags '-i' and '-s' cannot be used together.")
        spec = options["objects"] or options["noderange"]
        deftype = defs.get(options["objtype"])
        names, missing = present(deftype, spec) if spec else (deftype.resolve(None), [])
        errors = [
            f"Could not find an object named '{name}' of type '{deftype.objtype}'."
            for name in missing
        ]
        shown = self._attribute_list(deftype, options["attrs"], errors)
        print_errors(self.stderr, errors)
        if names:
            self._list(deftype, sorted(names), spec, shown, options)
        elif not missing:
            self.stdout.write("Could not find any object definitions to display.")
        if errors:
            exit_failed()

    def _attribute_list(
        self, deftype: defs.DefType, given: str | None, errors: list[str]
    ) -> list[str] | None:
        """``-i a,b``: the valid ones (xCAT reports each invalid one and goes on)."""
        if not given:
            return None
        known = getattr(deftype, "attributes", ())
        shown = []
        for attr in dict.fromkeys(a.strip() for a in given.split(",") if a.strip()):
            if attr in known:
                shown.append(attr)
            else:
                errors.append(
                    f"'{attr}' is not a valid attribute name for an object type of "
                    f"'{deftype.objtype}'."
                )
        return shown

    def _list(
        self,
        deftype: defs.DefType,
        names: list[str],
        spec: str | None,
        shown: list[str] | None,
        options: dict[str, Any],
    ) -> None:
        # xCAT: naming objects, -l or -i mean the definitions; -s (or nothing) the names.
        long = not options["short"] and bool(
            options["long"] or options["stanza"] or spec or shown is not None
        )
        kwargs: dict[str, Any] = {}
        if options["files_dir"]:
            if "files_dir" not in inspect.signature(deftype.to_stanzas).parameters:
                raise CommandError(f"--files-dir means nothing for {deftype.objtype} objects")
            kwargs["files_dir"] = options["files_dir"]
        if options["show_secrets"]:
            who = admin_actor(options, "--show-secrets")
            audit.record(
                audit.verb(deftype.objtype, "show_secrets"),
                actor=who,
                object_type=deftype.objtype,
                object_name=compress(names),
                message=f"lsdef --show-secrets for {len(names)} object(s)",
            )
        stanzas = deftype.to_stanzas(
            names, long=long, reveal_secrets=options["show_secrets"], **kwargs
        )
        if shown is not None:
            # Asked-for attributes are shown even when empty, as xCAT does.
            for s in stanzas:
                s.attrs = {a: s.attrs.get(a, "") for a in shown}
        if options["stanza"]:
            self.stdout.write(stanza.format(stanzas), ending="")
        elif long:
            blocks = []
            for s in stanzas:
                lines = [f"Object name: {s.name}"]
                lines += [
                    f"    {attr}={stanza.encode_value(s.attrs[attr])}"
                    for attr in sorted(s.attrs)
                    if s.attrs[attr] or shown is not None
                ]
                blocks.append("\n".join(lines))
            self.stdout.write("\n\n".join(blocks))
        else:
            for s in stanzas:
                self.stdout.write(f"{s.name}  ({s.objtype})")
