"""``nodestat <noderange>``: each node's last reported status, ``node01: booted``."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nodes import services
from nodes.models import Node
from nodes.noderange import NoderangeError


class Command(BaseCommand):
    help = "Show the status nodes last reported (powering-on, netbooting, booted, …)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange", nargs="?", help="all nodes when omitted")
        parser.add_argument("-p", "--power", action="store_true", help="add the cached power")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            names = services.resolve(options["noderange"] or "all", allow_files=True)
        except NoderangeError as e:
            raise CommandError(str(e)) from None
        rows = dict(
            (n, (s, p))
            for n, s, p in Node.objects.filter(name__in=names).values_list(
                "name", "status", "power"
            )
        )
        for name in names:
            status, power = rows[name]
            line = f"{name}: {status or 'unknown'}"
            self.stdout.write(line + (f" (power {power or 'unknown'})" if options["power"] else ""))
