"""Node statuses come from ``Node.Status`` only: the attribute check, the boot-progress
timeline and the status badges all follow it."""

from __future__ import annotations

import pytest
from django.test import Client

from nodes import progress
from nodes.attributes import ATTRS
from nodes.models import Node
from nodes.templatetags.node_status import status_badge, status_label
from nodes.tests.factories import make_node


def test_the_status_attribute_accepts_exactly_the_model_statuses() -> None:
    parse = ATTRS["status"].parse
    assert [parse(value) for value in Node.Status.values] == Node.Status.values
    with pytest.raises(
        ValueError, match="use empty, .powering-on., .netbooting., .booting., .booted., .failed."
    ):
        parse("rebooting")


@pytest.mark.parametrize(
    ("status", "colour"),
    [
        (Node.Status.BOOTED, "success"),
        (Node.Status.FAILED, "danger"),
        (Node.Status.UNKNOWN, "secondary"),
        (None, "secondary"),
        (Node.Status.POWERING_ON, "primary"),
        (Node.Status.NETBOOTING, "primary"),
        (Node.Status.BOOTING, "primary"),
    ],
)
def test_every_status_has_a_badge_colour(status: str | None, colour: str) -> None:
    assert status_badge(status) == colour


def test_no_status_reads_as_unknown() -> None:
    assert status_label("") == status_label(None) == "unknown"
    assert status_label(Node.Status.BOOTED) == "booted"


def test_the_boot_phases_that_are_statuses_use_the_model_values() -> None:
    keys = [key for key, _ in progress.PHASES]
    for status in (Node.Status.NETBOOTING, Node.Status.BOOTING, Node.Status.BOOTED):
        assert status.value in keys and progress.phase_of(status.value) == status


@pytest.mark.django_db
def test_a_failed_node_shows_a_red_badge(viewer_web: Client) -> None:
    make_node("n1", status=Node.Status.FAILED)
    body = viewer_web.get("/nodes/n1/").content.decode()
    assert '<span class="badge text-bg-danger">failed</span>' in body


@pytest.mark.django_db
def test_the_dashboard_counts_every_status_in_boot_order_with_its_colour(
    viewer_web: Client,
) -> None:
    make_node("n1", status=Node.Status.FAILED)
    body = viewer_web.get("/").content.decode()
    counts = list(Node.Status.values)
    positions = [body.index(f'data-status-count="{v or "unknown"}"') for v in counts]
    assert positions == sorted(positions)
    failed_card = body[: positions[counts.index(Node.Status.FAILED)]].rsplit("stat-card", 1)[1]
    assert failed_card.startswith(" border-danger")
