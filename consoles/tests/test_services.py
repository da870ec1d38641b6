"""The portal side of the console server: which nodes have consoles, node timeline events."""

from __future__ import annotations

from typing import Any

import pytest

from consoles.broker import State
from consoles.services import console_specs, record_transition
from nodes.models import Node, NodeEvent


@pytest.mark.django_db
def test_console_specs_list_ipmi_nodes_with_a_bmc_and_clear_passwords(settings: Any) -> None:
    settings.CONSOLES_ONDEMAND = "n2"
    for name in ("n1", "n2"):
        node = Node(name=name, bmc="127.0.0.1:16001", bmcusername="admin", cons="ipmi")
        node.bmcpassword = "s3cret"
        node.save()
    Node.objects.create(name="nobmc", cons="ipmi")
    Node.objects.create(name="other", bmc="127.0.0.1", cons="")
    specs = console_specs()
    assert [(s.name, s.port, s.password, s.ondemand) for s in specs] == [
        ("n1", 16001, "s3cret", False),
        ("n2", 16001, "s3cret", True),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_timeline_shows_a_console_coming_up_and_going_down_but_not_each_retry() -> None:
    Node.objects.create(name="n1")
    record_transition("n1", None, State.LOST, "cannot log in")  # never connected: a retry
    record_transition("n1", State.LOST, State.CONNECTED, "")
    record_transition("n1", State.CONNECTED, State.LOST, "BMC silent for 6 s (watchdog)")
    messages = list(NodeEvent.objects.order_by("id").values_list("kind", "message"))
    assert messages == [
        ("console", "console connected"),
        ("console", "console lost: BMC silent for 6 s (watchdog)"),
    ]
