from __future__ import annotations

from django.apps import AppConfig


class NodesConfig(AppConfig):
    name = "nodes"

    def ready(self) -> None:
        from nodes.defs import GroupDefs, NodeDefs
        from snportal import defs

        defs.register(NodeDefs())
        defs.register(GroupDefs())
