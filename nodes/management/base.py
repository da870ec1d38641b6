"""The shape of every node verb: a noderange (``^file`` included) and one per-node printer.

:class:`NodeCommand` is a :class:`snportal.management.base.PortalCommand` (``--user``, the
declared permission, errors mapped once) that takes a noderange and prints xCAT's
``node: value`` lines: values on stdout, ``node: Error: …`` on stderr, `` (on sn01)``
after each with ``-V`` where the verb's work may run on a service node. A verb over a job
submits it in the foreground (:func:`snportal.jobs.submit`) and hands the finished job to
:meth:`NodeCommand.report`.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.core.management.base import CommandError

from nodes import services
from snportal.management.base import PortalCommand
from snportal.models import Job


class NodeCommand(PortalCommand):
    """A portal command over a noderange."""

    #: argparse ``nargs`` of the noderange (``"?"``: optional, all nodes when omitted).
    noderange_nargs: ClassVar[str | None] = None
    noderange_help: ClassVar[str] = "e.g. 'rack1,-node03' or ^/path/file (one name a line)"
    #: True where the work may run on a service node: ``-V`` says where each node's ran.
    where: ClassVar[bool] = False
    #: Positional words after the noderange: name → ``add_argument`` keywords.
    words: ClassVar[dict[str, dict[str, Any]]] = {}

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> ArgumentParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.where:
            parser.add_argument(
                "-V",
                "--verbose",
                action="store_true",
                dest="where",
                help="say where each node's work ran: ' (on sn01)' after its line",
            )
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        kwargs: dict[str, Any] = {"help": self.noderange_help}
        if self.noderange_nargs:
            kwargs["nargs"] = self.noderange_nargs
        parser.add_argument("noderange", **kwargs)
        for name, spec in self.words.items():
            parser.add_argument(name, **spec)

    def nodes(self, expr: str) -> list[str]:
        """The names a noderange selects; ``^/path`` reads them from a file."""
        return services.resolve(expr, allow_files=True)

    def print_results(
        self, names: Sequence[str], results: Mapping[str, Any], *, where: bool = False
    ) -> int:
        """``node: value`` (stdout) or ``node: Error: why`` (stderr) per node, in ``names``
        order; results are ``Result`` objects or the job's ``{"ok", "value"|"error"}``
        dicts. The number of failed nodes."""
        failed = 0
        for name in names:
            r = results.get(name)
            if r is None:
                ok, value, error, on = False, "", "no result", ""
            elif isinstance(r, Mapping):
                ok, value, error, on = r["ok"], r.get("value"), r.get("error"), r.get("on")
            else:
                ok, value, error, on = r.ok, r.value, r.error, ""
            suffix = f" (on {on})" if where and on else ""
            if ok:
                self.stdout.write(f"{name}: {value}{suffix}")
            else:
                failed += 1
                self.stderr.write(f"{name}: Error: {error}{suffix}")
        return failed

    def report(self, names: Sequence[str], job: Job, *, where: bool = False) -> None:
        """Print a finished job's ``node: value`` lines; CommandError unless it succeeded."""
        missing = {"ok": False, "error": job.error or "no result"}
        results = {n: job.results.get(n, missing) for n in names}
        failed = self.print_results(names, results, where=where)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(
                f"{failed} of {len(names)} node(s) failed (job #{job.pk})"
                if failed
                else f"job #{job.pk} {job.status}: {job.error}"
            )
