"""``nodeset <noderange> osimage=<name> | boot | offline | stat``, as xCAT's."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nodes import netboot, services
from nodes.noderange import NoderangeError
from snportal.defs import DefError
from snportal.management.commands._cli import actor, add_user_argument


class Command(BaseCommand):
    help = (
        "Set the next network boot of nodes: osimage=<imagename> (netboot that image's current "
        "packed version), boot (local disk), offline (halt), or stat (show). Exit 1 if any "
        "node is refused."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange")
        parser.add_argument("state", help="osimage=<imagename> | boot | offline | stat")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        who = actor(options, None if options["state"] == "stat" else "nodes.netboot_node")
        try:
            names = services.resolve(options["noderange"], allow_files=True)
            results = netboot.nodeset(names, options["state"], actor=who)
        except (NoderangeError, DefError) as exc:
            raise CommandError(str(exc)) from None
        failed = 0
        for name in names:
            r = results[name]
            if r.ok:
                self.stdout.write(f"{name}: {r.value}")
            else:
                failed += 1
                self.stderr.write(f"{name}: Error: {r.error}")
        if failed:
            raise CommandError(f"{failed} of {len(names)} node(s) refused")
