"""What rpower and rsetboot share: run the job in the foreground, print xCAT's lines."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nodes import services
from nodes.noderange import NoderangeError
from snportal.defs import DefError
from snportal.management.commands._cli import actor
from snportal.models import Job


def run(command: BaseCommand, verb_command: str, options: dict[str, Any]) -> None:
    """Resolve, run the same job body as the workers, print ``node: value``; exit 1 on failure."""
    who = actor(options, "nodes.power_node")
    try:
        names = services.resolve(options["noderange"], allow_files=True)
        job = services.run_power(verb_command, names, options["action"], actor=who)
    except (NoderangeError, DefError) as e:
        raise CommandError(str(e)) from None
    report(command, names, job)


def report(command: BaseCommand, names: list[str], job: Job) -> None:
    """Print a finished job's ``node: value`` lines (errors on stderr); fail if it failed."""
    failed = 0
    for name in names:
        result = job.results.get(name, {"ok": False, "error": job.error or "no result"})
        if result["ok"]:
            command.stdout.write(f"{name}: {result['value']}")
        else:
            failed += 1
            command.stderr.write(f"{name}: Error: {result['error']}")
    if job.status != job.Status.SUCCEEDED:
        raise CommandError(
            f"{failed} of {len(names)} node(s) failed (job #{job.pk})"
            if failed
            else f"job #{job.pk} {job.status}: {job.error}"
        )
