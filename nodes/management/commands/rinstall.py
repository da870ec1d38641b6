"""``rinstall <noderange> [osimage=<name>]``: nodeset, boot from network, power boot."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nodes import netboot, services
from nodes.management.commands import _power
from nodes.noderange import NoderangeError
from snportal import jobs
from snportal.defs import DefError
from snportal.management.commands._cli import actor, add_user_argument
from snportal.models import Job


class Command(BaseCommand):
    help = (
        "Netboot nodes: nodeset osimage=<name> (omit to keep each node's boot state), next "
        "boot device network over IPMI, then power on (or reset if on). Runs in the "
        "foreground as a recorded job; exit 1 if any node fails. --wait waits for booted."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange")
        parser.add_argument("target", nargs="?", default="", help="osimage=<imagename>")
        parser.add_argument(
            "--wait",
            type=int,
            default=0,
            metavar="SECONDS",
            help="then wait up to SECONDS for every node to report booted (or failed)",
        )
        add_user_argument(parser)
        _power.add_where_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        who = actor(options, "nodes.netboot_node")
        try:
            names = services.resolve(options["noderange"], allow_files=True)
            if options["target"]:
                netboot.parse_target(options["target"])
        except (NoderangeError, DefError) as exc:
            raise CommandError(str(exc)) from None
        job = Job(
            kind="rinstall",
            func="nodes.netboot.rinstall_job",
            target=f"{options['noderange']} {options['target']}".strip()[:500],
            params={"nodes": names, "target": options["target"], "actor": who.__dict__},
            requested_by_id=who.user_id,
            requested_by_name=who.username,
        )
        # Nodes behind a service node: their part runs on its cluster, waited for here.
        jobs.route(job, names)
        job = jobs.run_routed_here(job)
        _power.report(self, names, job, where=options["where"])
        if options["wait"]:
            self._wait(names, options["wait"])

    def _wait(self, names: list[str], seconds: int) -> None:
        import time

        from nodes.models import Node

        deadline = time.monotonic() + seconds
        pending = set(names)
        while pending and time.monotonic() < deadline:
            for name, status, detail in Node.objects.filter(name__in=pending).values_list(
                "name", "status", "statusdetail"
            ):
                if status in ("booted", "failed"):
                    pending.discard(name)
                    line = f"{name}: {status}" + (f" ({detail})" if detail else "")
                    (self.stdout if status == "booted" else self.stderr).write(line)
            time.sleep(1)
        if pending:
            raise CommandError(f"not booted after {seconds} s: {', '.join(sorted(pending))}")
        if Node.objects.filter(name__in=names, status="failed").exists():
            raise CommandError("some nodes failed to boot (nodestat shows why)")
