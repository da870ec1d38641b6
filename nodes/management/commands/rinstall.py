"""``rinstall <noderange> [osimage=<name>]``: nodeset, boot from network, power boot."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from nodes import netboot
from nodes.management.base import NodeCommand
from nodes.models import Node


class Command(NodeCommand):
    help = (
        "Netboot nodes: nodeset osimage=<name> (omit to keep each node's boot state), next "
        "boot device network over IPMI, then power on (or reset if on). Runs in the "
        "foreground as a recorded job; exit 1 if any node fails. --wait waits for booted."
    )
    permission = "nodes.netboot_node"
    where = True
    words = {"target": {"nargs": "?", "default": "", "help": "osimage=<imagename>"}}

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--wait",
            type=int,
            default=0,
            metavar="SECONDS",
            help="then wait up to SECONDS for every node to report booted (or failed)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = self.nodes(options["noderange"])
        # Nodes behind a service node: their part runs on its cluster, waited for here.
        job = netboot.start_rinstall(names, options["target"], actor=self.who, foreground=True)
        self.report(names, job, where=options["where"])
        if options["wait"]:
            self._wait(names, options["wait"])

    def _wait(self, names: list[str], seconds: int) -> None:
        deadline = time.monotonic() + seconds
        pending = set(names)
        while pending and time.monotonic() < deadline:
            for name, status, detail in Node.objects.filter(name__in=pending).values_list(
                "name", "status", "statusdetail"
            ):
                if status in (Node.Status.BOOTED, Node.Status.FAILED):
                    pending.discard(name)
                    line = f"{name}: {status}" + (f" ({detail})" if detail else "")
                    (self.stdout if status == Node.Status.BOOTED else self.stderr).write(line)
            time.sleep(1)
        if pending:
            raise CommandError(f"not booted after {seconds} s: {', '.join(sorted(pending))}")
        if Node.objects.filter(name__in=names, status=Node.Status.FAILED).exists():
            raise CommandError("some nodes failed to boot (nodestat shows why)")
