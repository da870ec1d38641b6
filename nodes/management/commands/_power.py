"""What rpower, rsetboot and rinstall share: run the job in the foreground, print xCAT's lines.

Nodes behind a service node are not driven from here (their BMCs are on the service node's
network): their part is queued to that service node's cluster and waited for; ``-V`` says
where each node's part ran.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nodes import services
from nodes.noderange import NoderangeError
from snportal.defs import DefError
from snportal.management.commands._cli import actor
from snportal.models import Job


def add_where_argument(parser: ArgumentParser) -> None:
    parser.add_argument(
        "-V",
        "--verbose",
        action="store_true",
        dest="where",
        help="say where each node's work ran: ' (on sn01)' after its line",
    )


def run(command: BaseCommand, verb_command: str, options: dict[str, Any]) -> None:
    """Resolve, run the same job body as the workers, print ``node: value``; exit 1 on failure."""
    who = actor(options, "nodes.power_node")
    try:
        names = services.resolve(options["noderange"], allow_files=True)
        job = services.run_power(verb_command, names, options["action"], actor=who)
    except (NoderangeError, DefError) as e:
        raise CommandError(str(e)) from None
    report(command, names, job, where=options.get("where", False))


def report(command: BaseCommand, names: list[str], job: Job, *, where: bool = False) -> None:
    """Print a finished job's ``node: value`` lines (errors on stderr); fail if it failed."""
    failed = 0
    for name in names:
        result = job.results.get(name, {"ok": False, "error": job.error or "no result"})
        on = f" (on {result['on']})" if where and result.get("on") else ""
        if result["ok"]:
            command.stdout.write(f"{name}: {result['value']}{on}")
        else:
            failed += 1
            command.stderr.write(f"{name}: Error: {result['error']}{on}")
    if job.status != job.Status.SUCCEEDED:
        raise CommandError(
            f"{failed} of {len(names)} node(s) failed (job #{job.pk})"
            if failed
            else f"job #{job.pk} {job.status}: {job.error}"
        )
