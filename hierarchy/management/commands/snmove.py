"""``snmove NODERANGE SN``: serve nodes from another service node (xCAT's snmove -d)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hierarchy import services
from nodes import noderange
from nodes.services import resolve
from snportal.defs import DefError
from snportal.management.commands._cli import actor, add_user_argument


class Command(BaseCommand):
    help = (
        "Make SN the primary service node of the nodes (the old ones stay as backups); "
        "their queued work moves to SN's cluster, DHCP and consoles follow. Audited."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange")
        parser.add_argument("servicenode", metavar="SN")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        who = actor(options, "hierarchy.move_servicenode")
        try:
            names = resolve(options["noderange"], allow_files=True)
            report = services.snmove(names, options["servicenode"], actor=who)
        except (noderange.NoderangeError, DefError) as e:
            raise CommandError(str(e)) from None
        for name in report.moved:
            self.stdout.write(f"{name}: servicenode={options['servicenode']} (primary)")
        for job, parts in sorted(report.requeued.items()):
            self.stdout.write(f"job #{job}: queued work moved to {', '.join(parts) or 'none'}")
        if not report.moved:
            self.stdout.write(f"nothing to do: already served by {options['servicenode']}")
