"""The boot progress view: phases from node events, slow and stuck nodes flagged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from nodes import progress
from nodes.models import Node, NodeEvent
from nodes.tests.factories import make_node

pytestmark = pytest.mark.django_db

STEPS = [
    ("status", "powering-on (rinstall)"),
    ("boot", "script served: netboot img version v1"),
    ("boot", "kernel requested"),
    ("boot", "initrd requested"),
    ("status", "netbooting"),
    ("boot", "root image requested"),
    ("status", "booting"),
    ("status", "booted"),
]


def boot(name: str, seconds_per_step: float, start, steps=STEPS) -> None:
    node = Node.objects.get(name=name)
    for i, (kind, message) in enumerate(steps):
        event = NodeEvent.objects.create(node=node, kind=kind, message=message)
        NodeEvent.objects.filter(pk=event.pk).update(
            time=start + timedelta(seconds=i * seconds_per_step)
        )
    last = steps[-1][1]
    Node.objects.filter(pk=node.pk).update(
        status=last if last in ("booted", "netbooting", "booting") else "",
        statustime=start + timedelta(seconds=(len(steps) - 1) * seconds_per_step),
    )


def test_phases_are_seconds_from_power_on_and_a_slow_node_is_flagged() -> None:
    start = timezone.now() - timedelta(minutes=10)
    for name, pace in (("n1", 2), ("n2", 2), ("n3", 3), ("n4", 20)):
        make_node(name)
        boot(name, pace, start)
    rows = {r.name: r for r in progress.progress(["n1", "n2", "n3", "n4"], start - timedelta(1))}
    assert rows["n1"].phases == {k: i * 2.0 for i, (k, _) in enumerate(progress.PHASES)}
    assert rows["n4"].slow and not rows["n1"].slow
    assert rows["n4"].elapsed == 140.0


def test_a_node_past_its_state_timeout_is_stuck(settings) -> None:
    settings.BOOT_TIMEOUTS = {"netbooting": 60}
    start = timezone.now() - timedelta(minutes=10)
    make_node("n1")
    boot("n1", 1, start, STEPS[:5])
    (row,) = progress.progress(["n1"], start - timedelta(seconds=1))
    assert row.status == "netbooting" and row.stuck
    assert row.last_message == "netbooting"


def test_progress_page_shows_a_job_s_nodes_in_bounded_queries(
    viewer_web: Client, django_assert_max_num_queries
) -> None:
    start = timezone.now() - timedelta(minutes=5)
    for i in range(30):
        make_node(f"n{i:02d}")
        boot(f"n{i:02d}", 1, start)
    with django_assert_max_num_queries(12):
        response = viewer_web.get("/nodes/progress/", {"range": "n[00-29]"})
    assert response.status_code == 200
    assert b'data-testid="progress-n29"' in response.content
