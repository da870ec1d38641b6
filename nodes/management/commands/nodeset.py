"""``nodeset <noderange> osimage=<name> | boot | offline | stat``, as xCAT's."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from nodes import netboot
from nodes.management.base import NodeCommand


class Command(NodeCommand):
    help = (
        "Set the next network boot of nodes: osimage=<imagename> (netboot that image's current "
        "packed version), boot (local disk), offline (halt), or stat (show). Exit 1 if any "
        "node is refused."
    )
    permission = "nodes.netboot_node"
    words = {"state": {"help": "osimage=<imagename> | boot | offline | stat"}}

    def required_permission(self, options: dict[str, Any]) -> str | None:
        return None if options["state"] == "stat" else self.permission

    def handle(self, *args: Any, **options: Any) -> None:
        names = self.nodes(options["noderange"])
        results = netboot.nodeset(names, options["state"], actor=self.who)
        failed = self.print_results(names, results)
        if failed:
            raise CommandError(f"{failed} of {len(names)} node(s) refused")
