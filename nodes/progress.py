"""Boot progress: each node's boot phases as a timeline, with slow and stuck nodes flagged.

Built from the node events the boot path already writes (rinstall, the boot service, the
status reports), so it costs two queries for a page of nodes. A node is *slow* when its boot
so far took more than 3x the median of the nodes shown (at least three of them), and
*stuck* when it sits in a boot state past that state's timeout.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from nodes import extensions
from nodes.models import Node, NodeEvent

PHASES = [
    ("power", "power on"),
    ("script", "iPXE script"),
    ("kernel", "kernel"),
    ("initrd", "initrd"),
    (Node.Status.NETBOOTING, "netbooting"),
    ("root", "root image"),
    (Node.Status.BOOTING, "booting"),
    (Node.Status.BOOTED, "booted"),
]
_MATCH = [
    ("power", lambda m: m.startswith(Node.Status.POWERING_ON)),
    ("script", lambda m: m.startswith("script served: netboot")),
    ("kernel", lambda m: m == "kernel requested"),
    ("initrd", lambda m: m == "initrd requested"),
    (Node.Status.NETBOOTING, lambda m: m == Node.Status.NETBOOTING),
    ("root", lambda m: m == "root image requested"),
    (Node.Status.BOOTING, lambda m: m == Node.Status.BOOTING),
    (Node.Status.BOOTED, lambda m: m == Node.Status.BOOTED),
]
SLOW_FACTOR = 3.0
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>c]|\r")


@dataclass
class NodeProgress:
    name: str
    status: str
    detail: str
    start: datetime | None = None
    phases: dict[str, float] = field(default_factory=dict)  # phase → seconds since start
    last_message: str = ""
    last_time: datetime | None = None
    elapsed: float = 0.0
    slow: bool = False
    stuck: bool = False
    console: str = ""

    def cells(self) -> list[tuple[str, float | None]]:
        return [(label, self.phases.get(key)) for key, label in PHASES]


def phase_of(message: str) -> str | None:
    for key, test in _MATCH:
        if test(message):
            return key
    return None


def progress(
    names: Sequence[str], since: datetime, now: datetime | None = None
) -> list[NodeProgress]:
    """The boot timeline of ``names`` from ``since`` (a job's start, or a recent window)."""
    now = now or timezone.now()
    nodes = {
        n.name: n
        for n in Node.objects.filter(name__in=names).only(
            "name", "status", "statusdetail", "statustime"
        )
    }
    rows = {
        name: NodeProgress(name, nodes[name].status, nodes[name].statusdetail)
        for name in names
        if name in nodes
    }
    events: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for name, time, message in (
        NodeEvent.objects.filter(
            node__name__in=list(rows), time__gte=since, kind__in=("boot", "status")
        )
        .order_by("time", "id")
        .values_list("node__name", "time", "message")
    ):
        events[name].append((time, message))
    for name, row in rows.items():
        for time, message in events.get(name, []):
            key = phase_of(message)
            if key == "power" or (key == "script" and row.start is None):
                row.start, row.phases = time, {}
            if key and row.start is not None:
                row.phases[key] = (time - row.start).total_seconds()
            row.last_message, row.last_time = message, time
        if row.start is not None:
            end = row.last_time if row.status in (Node.Status.BOOTED, Node.Status.FAILED) else now
            row.elapsed = (end - row.start).total_seconds()
        node = nodes[name]
        timeout = settings.BOOT_TIMEOUTS.get(node.status)
        row.stuck = bool(
            timeout and node.statustime and now - node.statustime > timedelta(seconds=timeout)
        )
    _flag_slow([r for r in rows.values() if r.start is not None])
    return list(rows.values())


def _flag_slow(rows: list[NodeProgress]) -> None:
    if len(rows) < 3:
        return
    median = statistics.median(r.elapsed for r in rows)
    for r in rows:
        r.slow = median > 0 and r.elapsed > SLOW_FACTOR * median


def console_excerpt(directory: Path, node: str, when: datetime, lines: int = 8) -> str:
    """The last lines the node's console printed up to ``when`` (ANSI stripped)."""
    data = extensions.hooks.console_text(directory, node, when.timestamp() - 15, length=8192)
    text = _ANSI.sub(b"", data).decode("utf-8", "replace")
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])
