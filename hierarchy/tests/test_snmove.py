"""snmove, servicenode validation, -t servicenode definitions, the Service nodes page."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError
from django.test import Client
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from hierarchy.models import ServiceNode
from hierarchy.tests.factories import make_sn
from nodes.models import Node
from nodes.tests.factories import cli, make_node
from snportal import jobs
from snportal.models import AuditEvent


def refused(*args: str) -> str:
    """Run a command that must fail; what it said (stderr, or the CommandError)."""
    import io

    from django.core.management import call_command

    err = io.StringIO()
    try:
        call_command(*args, stdout=io.StringIO(), stderr=err)
    except (CommandError, SystemExit) as e:
        return err.getvalue() + str(e)
    raise AssertionError(f"{args} succeeded")


@pytest.mark.django_db
def test_snmove_makes_the_destination_primary_and_requeues_queued_work(
    django_capture_on_commit_callbacks,
) -> None:
    make_sn("sn01")
    make_sn("sn02", address="192.168.79.1/24")
    make_node("c1", servicenode="sn01,sn02")
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("t", "hierarchy.tests.test_parts.report_body", ["c1"])
    assert list(OrmQ.objects.values_list("key", flat=True)) == ["sn01"]
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = cli("snmove", "c1", "sn02")
    assert "c1: servicenode=sn02" in out
    assert Node.objects.get(name="c1").servicenode == "sn02,sn01"
    (row,) = OrmQ.objects.all()
    assert row.key == "sn02" and SignedPackage.loads(row.payload)["args"] == (job.pk, "sn02")
    job.refresh_from_db()
    assert list(job.parts) == ["sn02"] and job.parts_left == 1
    assert AuditEvent.objects.filter(verb="node.snmove", object_name="c1").exists()
    assert AuditEvent.objects.filter(verb="servicenode.snmove", object_name="sn02").exists()


@pytest.fixture
def c1_on_sn01(db: None) -> None:
    """Two service nodes; c1 served by sn01 only."""
    make_sn("sn01")
    make_sn("sn02", address="192.168.79.1/24")
    make_node("c1", servicenode="sn01")


def test_viewer_cannot_snmove(viewer_web: Client, c1_on_sn01: None) -> None:
    response = viewer_web.post("/hierarchy/snmove/", {"noderange": "c1", "servicenode": "sn02"})
    assert response.status_code == 403
    assert Node.objects.get(name="c1").servicenode == "sn01"
    assert AuditEvent.objects.filter(verb="node.snmove", outcome="denied").exists()


def test_operator_snmoves_from_the_service_nodes_page(
    operator_web: Client, c1_on_sn01: None
) -> None:
    page = operator_web.get("/hierarchy/").content.decode()
    assert "snmove-form" in page and "sn02" in page
    response = operator_web.post("/hierarchy/snmove/", {"noderange": "c1", "servicenode": "sn02"})
    assert response.status_code == 302
    assert Node.objects.get(name="c1").servicenode == "sn02,sn01"


@pytest.mark.django_db
def test_snmove_to_a_node_that_is_no_service_node_is_refused_with_the_fix(
    operator_web: Client,
) -> None:
    make_node("c1")
    make_node("c2")
    response = operator_web.post("/hierarchy/snmove/", {"noderange": "c1", "servicenode": "c2"})
    assert response.status_code == 400
    assert b"add it to group service" in response.content


@pytest.mark.django_db
def test_servicenode_must_name_a_service_node() -> None:
    make_node("c2")
    said = refused("mkdef", "-t", "node", "-o", "c1", "groups=compute", "servicenode=c2")
    assert "servicenode: c2 is not a service node: add it to group service" in said


@pytest.mark.django_db
def test_servicenode_must_exist_and_not_repeat_or_be_the_node_itself() -> None:
    make_sn("sn01")
    said = refused("mkdef", "-t", "node", "-o", "c1", "groups=compute", "servicenode=sn09")
    assert "servicenode: sn09 is not a node: define it" in said
    said = refused("mkdef", "-t", "node", "-o", "c1", "groups=compute", "servicenode=sn01,sn01")
    assert "servicenode: sn01 is listed twice" in said
    said = refused("chdef", "-t", "node", "-o", "sn01", "servicenode=sn01")
    assert "sn01 is this node itself" in said


@pytest.mark.django_db
def test_a_stanza_defining_a_service_node_and_its_nodes_together_imports() -> None:
    stanza = (
        "sn01:\n    objtype=node\n    groups=service\n"
        "c1:\n    objtype=node\n    groups=compute\n    servicenode=sn01\n"
    )
    cli("mkdef", "-z", stdin=stanza)
    assert Node.objects.get(name="c1").servicenode == "sn01"


@pytest.mark.django_db
def test_lsdef_shows_the_derived_xcatmaster_and_a_round_trip_keeps_it_derived() -> None:
    make_sn("sn01", address="192.168.78.1/24")
    make_node("c1", groups="compute", servicenode="sn01")
    out, _ = cli("lsdef", "-z", "c1")
    assert "xcatmaster=192.168.78.1" in out
    cli("mkdef", "-z", "-f", stdin=out)
    assert Node.objects.get(name="c1").xcatmaster == ""


@pytest.mark.django_db
def test_chdef_t_servicenode_sets_its_address_validated_and_audited() -> None:
    make_sn("sn01", address="")
    cli(
        "chdef",
        "-t",
        "servicenode",
        "-o",
        "sn01",
        "address=192.168.78.1/24",
        "computemac=52:54:00:AA:BB:01",
        "dhcprange=192.168.78.100,192.168.78.199",
    )
    sn = ServiceNode.objects.get(node__name="sn01")
    assert (sn.address, sn.compute_mac) == ("192.168.78.1/24", "52:54:00:aa:bb:01")
    assert AuditEvent.objects.filter(verb="servicenode.update", object_name="sn01").exists()
    said = refused("chdef", "-t", "servicenode", "-o", "sn01", "address=192.168.78.1")
    assert "address: '192.168.78.1' has no prefix length" in said
    out, _ = cli("lsdef", "-t", "servicenode", "-l")
    assert "address=192.168.78.1/24" in out and "heartbeat=" in out


@pytest.mark.django_db
def test_service_nodes_page_shows_liveness_and_counts(viewer_web: Client) -> None:
    make_sn("sn01")
    make_sn("sn02", age=600, address="192.168.79.1/24")
    make_node("c1", servicenode="sn01,sn02")
    page = viewer_web.get("/hierarchy/").content.decode()
    assert "alive" in page and "stale" in page and "1 / 1" in page
    assert "snmove-form" not in page
