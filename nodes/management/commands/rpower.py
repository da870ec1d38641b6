"""``rpower <noderange> on|off|softoff|reset|boot|cycle|stat|state|status``, as xCAT's."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from nodes import services
from nodes.management.base import NodeCommand
from nodes.services import POWER_ALIASES, POWER_VERBS


class Command(NodeCommand):
    help = "Control or read node power over IPMI (recorded as a job; exit 1 if any node fails)."
    permission = "nodes.power_node"
    where = True
    verb = "rpower"
    actions: tuple[str, ...] = (*POWER_VERBS, *POWER_ALIASES)

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("action", choices=self.actions)

    def handle(self, *args: Any, **options: Any) -> None:
        names = self.nodes(options["noderange"])
        job = services.submit_power(
            self.verb, names, options["action"], actor=self.who, foreground=True
        )
        self.report(names, job, where=options["where"])
