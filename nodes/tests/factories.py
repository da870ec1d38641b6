"""Plain factories for node tests: ``make_node(**overrides)``, CLI runner."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command

from nodes import services
from snportal import audit

# The actor of test changes made through the services (as a CLI user would).
ACTOR = audit.Actor(user_id=None, username="test@cli")


def make_node(name: str = "node01", **attrs: str) -> Any:
    """A node defined through the same service as mkdef, attributes as xCAT text."""
    from nodes.models import Node

    services.save_nodes([(name, attrs)], mode=services.CREATE, actor=ACTOR)
    return Node.objects.get(name=name)


def cli(*args: str, stdin: str = "") -> tuple[str, str]:
    """Run a management command; (stdout, stderr). CommandError propagates."""
    import sys

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=err)
    finally:
        sys.stdin = old
    return out.getvalue(), err.getvalue()
