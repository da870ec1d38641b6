"""Factories for hierarchy tests: service nodes with a chosen heartbeat age."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from hierarchy.services import get_servicenode
from nodes.tests.factories import make_node


def make_sn(
    name: str = "sn01",
    *,
    age: float | None = 1.0,
    address: str = "192.168.78.1/24",
    **attrs: str,
) -> Any:
    """A service node (node in group service + its row); ``age`` seconds since its
    last heartbeat, ``None`` for never."""
    make_node(name, groups="service", **attrs)
    sn = get_servicenode(name)
    sn.address = address
    sn.heartbeat = None if age is None else timezone.now() - timedelta(seconds=age)
    sn.save()
    return sn
