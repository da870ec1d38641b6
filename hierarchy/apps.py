from __future__ import annotations

from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    """Service nodes: enrolment, heartbeats, routing of node work to the node's service node."""

    name = "hierarchy"

    def ready(self) -> None:
        from hierarchy.defs import ServiceNodeDefs
        from snportal import defs

        defs.register(ServiceNodeDefs())
