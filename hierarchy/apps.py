from __future__ import annotations

from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    """Service nodes: enrolment, heartbeats, routing of node work to the node's service node."""

    name = "hierarchy"

    def ready(self) -> None:
        from django.urls import path

        from hierarchy import boot_views, cache, enrol, routing
        from hierarchy.defs import ServiceNodeDefs
        from nodes import extensions
        from snportal import defs, jobs

        defs.register(ServiceNodeDefs())
        # The core routes a job's nodes through whatever router is installed; service
        # nodes are this app's business (the core imports no product app).
        jobs.set_router(routing.plan)
        # The node app asks its hooks where service nodes change its answers (it imports
        # no app built on it: .importlinter).
        hooks = extensions.hooks
        hooks.xcatmasters = routing.xcatmasters
        hooks.derived_for = routing.derived_for
        hooks.nodeset_done = enrol.arm_on_nodeset
        hooks.kernel_args = enrol.kernel_arg
        hooks.cached_artifact = cache.fetch
        if not any(getattr(p, "name", "") == "enrol" for p in hooks.boot_patterns):
            hooks.boot_patterns.append(path("enrol", boot_views.enrol_view, name="enrol"))
