"""The event bus: small JSON payloads sent with PostgreSQL ``NOTIFY`` after commit.

Pages render on the server and then subscribe (through the console server, which
``LISTEN``s on one connection and fans out to browsers) to what they show, so no browser
polls the database. A payload says what changed and carries the few fields a page needs to
update itself in place: ``{"topic": "node", "node": "lab01", "status": "booted",
"prev": "booting", …}``, ``{"topic": "job", "job": 12, "status": "running", …}``,
``{"topic": "joblog", "job": 12, "line": "…"}``. NOTIFY payloads must stay under 8,000 bytes.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, transaction

CHANNEL = "snportal_events"
MAX_PAYLOAD = 7000


def publish(topic: str, **data: Any) -> None:
    """Send ``data`` under ``topic`` once the current transaction commits (now if none)."""
    payload = json.dumps({"topic": topic, **data}, default=str, separators=(",", ":"))
    if len(payload) > MAX_PAYLOAD:
        payload = json.dumps({"topic": topic, "truncated": True, **_small(data)}, default=str)
    transaction.on_commit(lambda: _notify(payload))


def _small(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v[:500] if isinstance(v, str) else v) for k, v in data.items() if k != "lines"}


def _notify(payload: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def node_changed(
    node: str, *, status: str | None = None, prev: str | None = None, **extra: Any
) -> None:
    """A node's status, power or timeline changed."""
    publish("node", node=node, status=status, prev=prev, **extra)


def job_changed(job_pk: int, **fields: Any) -> None:
    """A job's status or progress changed."""
    publish("job", job=job_pk, **fields)
