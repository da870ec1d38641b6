"""The colour of a node-status badge, decided once from ``Node.Status``.

Templates used to compare ``node.status`` with the literals "booted" and "failed" in three
places; a renamed status would have silently turned every badge grey.
"""

from __future__ import annotations

from django import template

from nodes.models import Node

register = template.Library()

_BADGE = {
    Node.Status.BOOTED: "success",
    Node.Status.FAILED: "danger",
    Node.Status.UNKNOWN: "secondary",
}


@register.filter
def status_badge(status: str | None) -> str:
    """Bootstrap colour for a status: booted green, failed red, unknown grey, in between blue."""
    return _BADGE.get(status or Node.Status.UNKNOWN, "primary")


@register.filter
def status_label(status: str | None) -> str:
    """What a status reads as: its value, or ``unknown`` for none."""
    return status or Node.Status.UNKNOWN.label
