"""``nodestat <noderange>``: each node's last reported status, ``node01: booted``."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from nodes.management.base import NodeCommand
from nodes.models import Node
from nodes.power.base import Result


class Command(NodeCommand):
    help = "Show the status nodes last reported (powering-on, netbooting, booted, …)."
    noderange_nargs = "?"
    noderange_help = "all nodes when omitted; e.g. 'rack1,-node03' or ^/path/file"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("-p", "--power", action="store_true", help="add the cached power")

    def handle(self, *args: Any, **options: Any) -> None:
        names = self.nodes(options["noderange"] or "all")
        rows = Node.objects.filter(name__in=names).values_list("name", "status", "power")
        lines = {}
        for name, status, power in rows:
            extra = f" (power {power or 'unknown'})" if options["power"] else ""
            lines[name] = Result(True, value=f"{status or 'unknown'}{extra}")
        self.print_results(names, lines)
