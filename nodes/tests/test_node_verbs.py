"""Every node verb has one shape (nodes.management.base.NodeCommand): ``--user`` with its
permission checked before any work, and ``^file`` noderanges."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from hierarchy.models import ServiceNode
from hierarchy.tests.factories import make_sn
from nodes.management.base import NodeCommand
from nodes.models import Node
from nodes.tests.factories import make_node
from testsupport.personas import make_user

pytestmark = pytest.mark.django_db

#: Each node verb with the words of one harmless run over ``{nodes}`` (n1, or sn01 for
#: the verbs of service nodes). A new node verb must be added here.
RUNS: dict[str, list[str]] = {
    "rpower": ["{nodes}", "stat"],
    "rsetboot": ["{nodes}", "stat"],
    "rinstall": ["{nodes}"],
    "rnetboot": ["{nodes}"],
    "nodeset": ["{nodes}", "boot"],
    "nodestat": ["{nodes}"],
    "nodels": ["{nodes}"],
    "wcons": ["{nodes}"],
    "snmove": ["{nodes}", "sn01"],
    "snenrol": ["--arm", "{nodes}"],
}
TARGET = {"snenrol": "sn01"}


def node_verbs() -> list[str]:
    return sorted(
        name
        for name, app in get_commands().items()
        if isinstance(load_command_class(app, name), NodeCommand)
    )


def run(verb: str, nodes: str, *extra: str) -> str:
    """What the verb said (stdout, stderr and any CommandError), whether or not it failed."""
    out, err = io.StringIO(), io.StringIO()
    words = [w.format(nodes=nodes) for w in RUNS[verb]]
    try:
        call_command(verb, *words, *extra, stdout=out, stderr=err)
    except CommandError as e:
        return out.getvalue() + err.getvalue() + f"CommandError: {e}"
    return out.getvalue() + err.getvalue()


@pytest.fixture
def cluster() -> None:
    make_sn("sn01")
    make_node("n1", mac="52:54:00:00:00:01")


def test_the_node_verbs_are_the_ones_this_test_knows() -> None:
    assert node_verbs() == sorted(RUNS)


def test_every_node_verb_takes_user_and_checks_its_permission(cluster: None) -> None:
    make_user("rolf-roleless", None)
    for verb in node_verbs():
        command = load_command_class(get_commands()[verb], verb)
        nodes = TARGET.get(verb, "n1")
        said = run(verb, nodes, "--user", "nobody-here")
        assert "--user nobody-here: no active portal user of that name" in said, verb
        said = run(verb, nodes, "--user", "rolf-roleless")
        if command.permission is None:  # reading: any portal user
            assert "may not do this" not in said, verb
        else:
            assert said == "CommandError: --user rolf-roleless: the role none may not do this"
    # Refused before any work: nodeset, snmove and snenrol changed nothing.
    assert Node.objects.get(name="n1").currstate == ""
    assert Node.objects.get(name="n1").servicenode == ""
    assert not ServiceNode.objects.get(node__name="sn01").enrol_armed


def test_a_viewer_may_not_power_nodes_from_the_cli(cluster: None, viewer: Any) -> None:
    said = run("rpower", "n1", "--user", viewer.username)
    assert said == f"CommandError: --user {viewer.username}: the role viewer may not do this"


def test_a_permitted_user_acts_under_their_own_name(cluster: None, operator: Any) -> None:
    from snportal.models import AuditEvent

    assert "n1: boot" in run("nodeset", "n1", "--user", operator.username)
    assert AuditEvent.objects.get(verb="node.nodeset").username == operator.username


def test_caret_file_noderange_works_for_every_node_verb(cluster: None, tmp_path: Path) -> None:
    for verb in node_verbs():
        target = TARGET.get(verb, "n1")
        listing = tmp_path / f"{verb}.nodes"
        listing.write_text(f"# nodes for {verb}\n{target}\n")
        said = run(verb, f"^{listing}")
        assert target in said and "noderange" not in said.lower(), f"{verb}: {said}"


def test_a_missing_caret_file_is_one_clear_error() -> None:
    said = run("nodestat", "^/nonexistent/nodes.txt")
    assert said.startswith("CommandError: ") and "/nonexistent/nodes.txt" in said
