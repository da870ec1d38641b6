"""``snenrol --arm NODERANGE`` / ``--revoke NODERANGE``: a service node's enrolment by hand.

``nodeset`` of a service node arms it already; this arms without changing its boot state
(a service node that rebooted from the same image) and revokes: its database role is
dropped, its sessions end and its API token stops working.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from hierarchy import enrol
from nodes.management.base import NodeCommand


class Command(NodeCommand):
    help = "Arm (allow one enrolment of) or revoke service nodes' credentials. Audited."
    permission = "hierarchy.enrol_servicenode"

    def add_arguments(self, parser: ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--arm", metavar="NODERANGE", help="allow one enrolment")
        group.add_argument("--revoke", metavar="NODERANGE", help="drop role and token, disarm")

    def handle(self, *args: Any, **options: Any) -> None:
        names = self.nodes(options["arm"] or options["revoke"])
        if options["arm"]:
            done = enrol.arm(names, actor=self.who)
            word = "armed (enrols once at its next boot)"
        else:
            done = enrol.revoke(names, actor=self.who)
            word = "revoked"
        for name in done:
            self.stdout.write(f"{name}: {word}")
