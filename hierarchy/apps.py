from __future__ import annotations

from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    """Service nodes: enrolment, heartbeats, routing of node work to the node's service node."""

    name = "hierarchy"
