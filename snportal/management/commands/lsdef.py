"""``lsdef [-t type] [-l] [-z] [--show-secrets] [noderange | -o names]``, as xCAT's."""

from __future__ import annotations

import inspect
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nodes.noderange import compress
from snportal import audit, defs
from snportal.lib import stanza
from snportal.management.commands._cli import actor, add_user_argument, admin_actor


class Command(BaseCommand):
    help = "List object definitions: names, attributes (-l) or a stanza file (-z)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("-t", dest="objtype", default="node", help="object type (node)")
        parser.add_argument("-o", dest="objects", help="object names (a noderange for nodes)")
        parser.add_argument("-l", "--long", action="store_true", help="every attribute")
        parser.add_argument("-z", "--stanza", action="store_true", help="stanza file output")
        parser.add_argument("--files-dir", metavar="DIR", help="write referenced files here")
        parser.add_argument(
            "--show-secrets", action="store_true", help="show passwords (admins only, audited)"
        )
        parser.add_argument("noderange", nargs="?", help="same as -o")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            deftype = defs.get(options["objtype"])
            spec = options["objects"] or options["noderange"]
            names = deftype.resolve(spec, allow_files=True)
        except defs.DefError as e:
            raise CommandError(str(e)) from None
        if not names:
            self.stderr.write("Could not find any object definitions to display.")
            return
        long = options["long"] or options["stanza"]
        kwargs: dict[str, Any] = {}
        if options["files_dir"]:
            if "files_dir" not in inspect.signature(deftype.to_stanzas).parameters:
                raise CommandError(f"--files-dir means nothing for {deftype.objtype} objects")
            kwargs["files_dir"] = options["files_dir"]
        if options["show_secrets"]:
            who = admin_actor(options, "--show-secrets")
            audit.record(
                f"{deftype.objtype}.show_secrets",
                actor=who,
                object_type=deftype.objtype,
                object_name=compress(names),
                message=f"lsdef --show-secrets for {len(names)} object(s)",
            )
        else:
            actor(options)
        stanzas = deftype.to_stanzas(
            names, long=long, reveal_secrets=options["show_secrets"], **kwargs
        )
        if options["stanza"]:
            self.stdout.write(stanza.format(stanzas), ending="")
        elif long:
            blocks = []
            for s in stanzas:
                lines = [f"Object name: {s.name}"]
                lines += [f"    {attr}={s.attrs[attr]}" for attr in sorted(s.attrs)]
                blocks.append("\n".join(lines))
            self.stdout.write("\n\n".join(blocks))
        else:
            for s in stanzas:
                self.stdout.write(f"{s.name}  ({s.objtype})")
