"""``snenrol --arm NODERANGE`` / ``--revoke NODERANGE``: a service node's enrolment by hand.

``nodeset`` of a service node arms it already; this arms without changing its boot state
(a service node that rebooted from the same image) and revokes: its database role is
dropped, its sessions end and its API token stops working.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hierarchy import enrol
from nodes import services
from nodes.noderange import NoderangeError
from snportal.defs import DefError
from snportal.management.commands._cli import actor, add_user_argument


class Command(BaseCommand):
    help = "Arm (allow one enrolment of) or revoke service nodes' credentials. Audited."

    def add_arguments(self, parser: ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--arm", metavar="NODERANGE", help="allow one enrolment")
        group.add_argument("--revoke", metavar="NODERANGE", help="drop role and token, disarm")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        who = actor(options, "hierarchy.enrol_servicenode")
        text = options["arm"] or options["revoke"]
        try:
            names = services.resolve(text, allow_files=False)
            if options["arm"]:
                done = enrol.arm(names, actor=who)
                word = "armed (enrols once at its next boot)"
            else:
                done = enrol.revoke(names, actor=who)
                word = "revoked"
        except (NoderangeError, DefError) as exc:
            raise CommandError(str(exc)) from None
        for name in done:
            self.stdout.write(f"{name}: {word}")
