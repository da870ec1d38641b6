"""``rpower <noderange> on|off|softoff|reset|boot|cycle|stat|state|status``, as xCAT's."""

from __future__ import annotations

from typing import Any

from nodes import services
from nodes.management.base import NodeCommand
from nodes.verbs import POWER_ALIASES, POWER_VERBS


class Command(NodeCommand):
    help = "Control or read node power over IPMI (recorded as a job; exit 1 if any node fails)."
    permission = "nodes.power_node"
    where = True
    verb = "rpower"
    words = {"action": {"choices": (*POWER_VERBS, *POWER_ALIASES)}}

    def handle(self, *args: Any, **options: Any) -> None:
        names = self.nodes(options["noderange"])
        job = services.submit_power(
            self.verb, names, options["action"], actor=self.who, foreground=True
        )
        self.report(names, job, where=options["where"])
