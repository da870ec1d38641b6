"""One validation error type for both apps: a refused node change and a refused osimage
definition are both ``snportal.errors.ValidationProblems``, with their messages unchanged."""

from __future__ import annotations

import pytest

from images import services as image_services
from images.tests.factories import make_image
from nodes import services as node_services
from nodes.tests.factories import make_node
from snportal.defs import DefError
from snportal.errors import Problem, ValidationProblems


@pytest.mark.django_db
def test_a_refused_node_change_is_a_validation_problem_with_every_reason() -> None:
    make_node("n1")
    with pytest.raises(ValidationProblems) as refused:
        node_services.save_nodes(
            [("n1", {"ip": "not-an-ip"}), ("n2", {"mac": "zz"})],
            mode=node_services.UPDATE,
            actor=node_services.audit.cli_actor(),
        )
    assert isinstance(refused.value, DefError)  # still caught where DefError is
    assert {p.name for p in refused.value.problems} >= {"n1"}
    assert str(refused.value) == "\n".join(str(p) for p in refused.value.problems)


@pytest.mark.django_db
def test_a_refused_image_definition_is_a_validation_problem_keyed_by_attribute() -> None:
    make_image("img1")
    with pytest.raises(ValidationProblems) as refused:
        make_image("img1")
    error = refused.value
    assert isinstance(error, image_services.DefinitionError)
    assert error.by_attr() == error.errors and error.name == "img1"


def test_an_image_refusal_reads_as_before() -> None:
    error = image_services.DefinitionError({"osvers": ["unknown"], "": ["too big"]}, "img1")
    assert str(error) == "img1: osvers: unknown; img1: too big"
    assert str(image_services.DefinitionError({"osvers": ["unknown"]})) == "osvers: unknown"


def test_a_node_refusal_reads_as_before() -> None:
    error = node_services.NodeDataError(
        [Problem("n1", "ip", "not an address"), Problem("n2", "", "unknown node")]
    )
    assert str(error) == "n1: ip: not an address\nn2: unknown node"
    assert error.by_attr() == {"ip": ["not an address"], "": ["unknown node"]}


def test_both_apps_share_the_core_problem_type() -> None:
    assert node_services.Problem is Problem
    assert issubclass(node_services.NodeDataError, ValidationProblems)
    assert issubclass(image_services.DefinitionError, ValidationProblems)
