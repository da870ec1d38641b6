from __future__ import annotations

from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    """Service nodes: enrolment, heartbeats, routing of node work to the node's service node."""

    name = "hierarchy"

    def ready(self) -> None:
        from hierarchy import routing
        from hierarchy.defs import ServiceNodeDefs
        from snportal import defs, jobs

        defs.register(ServiceNodeDefs())
        # The core routes a job's nodes through whatever router is installed; service
        # nodes are this app's business (the core imports no product app).
        jobs.set_router(routing.plan)
