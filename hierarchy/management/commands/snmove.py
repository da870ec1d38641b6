"""``snmove NODERANGE SN``: serve nodes from another service node (xCAT's snmove -d)."""

from __future__ import annotations

from typing import Any

from hierarchy import services
from nodes.management.base import NodeCommand


class Command(NodeCommand):
    help = (
        "Make SN the primary service node of the nodes (the old ones stay as backups); "
        "their queued work moves to SN's cluster, DHCP and consoles follow. Audited."
    )
    permission = "hierarchy.move_servicenode"
    words = {"servicenode": {"metavar": "SN", "help": "the service node to serve them"}}

    def handle(self, *args: Any, **options: Any) -> None:
        sn = options["servicenode"]
        report = services.snmove(self.nodes(options["noderange"]), sn, actor=self.who)
        for name in report.moved:
            self.stdout.write(f"{name}: servicenode={sn} (primary)")
        for job, parts in sorted(report.requeued.items()):
            self.stdout.write(f"job #{job}: queued work moved to {', '.join(parts) or 'none'}")
        if not report.moved:
            self.stdout.write(f"nothing to do: already served by {sn}")
