"""tests/labkit.wait_for_status: the end-to-end tests' wait, without a lab."""

from __future__ import annotations

import pytest

from nodes.models import Node
from nodes.tests.factories import make_node
from tests.labkit import wait_for_status


@pytest.mark.django_db
def test_a_status_already_reached_returns_the_node_at_once() -> None:
    make_node("lab01", status=Node.Status.BOOTED)
    assert wait_for_status("lab01", {"booted", "failed"}, 1).status == "booted"


@pytest.mark.django_db
def test_a_status_that_never_comes_fails_with_the_node_s_timeline() -> None:
    make_node("lab01", status=Node.Status.NETBOOTING)
    with pytest.raises(AssertionError, match=r"lab01 is 'netbooting'; timeline: .*\(after 1 s\)"):
        wait_for_status("lab01", {"booted", "failed"}, 1)
