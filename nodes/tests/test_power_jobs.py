"""rpower and rsetboot from the browser and the CLI, against real lab BMCs (ipmi_sim)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.management.base import CommandError
from django.test import Client

from lab.bmcsim import Lab
from lab.ports import free_base_port
from nodes.models import Node, NodeEvent
from nodes.tests.factories import cli, make_node
from snportal import jobs
from snportal.models import AuditEvent, Job

pytestmark = pytest.mark.django_db
PASSWORD = "jobs-lab-pw"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab")) as lab:
        lab.start(20, free_base_port(20), PASSWORD)
        yield lab


def register(lab: Lab, *names: str) -> None:
    """Define lab nodes the way runlab does (bmc host:port, admin, encrypted password)."""
    for b in lab.bmcs:
        if b.name in names:
            make_node(
                b.name,
                groups="lab",
                bmc=f"{b.host}:{b.port}",
                bmcusername=b.user,
                bmcpassword=b.password,
                mac=b.mac,
            )


def test_an_operator_powers_lab_nodes_on_from_the_browser(
    lab: Lab, operator_web: Client, operator, django_capture_on_commit_callbacks
) -> None:
    register(lab, "lab01", "lab02")
    with django_capture_on_commit_callbacks():
        operator_web.post("/nodes/power/", {"node": ["lab01", "lab02"], "action": "on"})
    job = Job.objects.get()
    assert jobs.run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.results == {
        "lab01": {"ok": True, "value": "on", "on": "snportal"},
        "lab02": {"ok": True, "value": "on", "on": "snportal"},
    }
    assert (lab.power("lab01"), lab.power("lab02")) == ("on", "on")
    assert job.log.splitlines() == ["lab01: on", "lab02: on"]


def test_an_operator_powers_20_lab_nodes_on_and_sees_each_result(
    lab: Lab, operator_web: Client
) -> None:
    names = [b.name for b in lab.bmcs]
    register(lab, *names)
    operator_web.post("/nodes/power/", {"noderange": "lab", "action": "on"})
    job = Job.objects.get()
    jobs.run_job(job.pk)
    html = operator_web.get(f"/jobs/{job.pk}/").content.decode()
    assert "20 ok, 0 failed" in html
    assert all(lab.power(n) == "on" for n in names)
    assert set(Node.objects.values_list("power", flat=True)) == {"on"}


def test_a_power_job_caches_the_state_and_writes_events_and_one_audit_row(
    lab: Lab, operator
) -> None:
    register(lab, "lab03")
    from nodes import services
    from snportal import audit

    services.request_power(
        "rpower", ["lab03"], "off", user=operator, actor=audit.cli_actor(operator.username)
    )
    jobs.run_job(Job.objects.get().pk)
    node = Node.objects.get(name="lab03")
    assert node.power == "off" and node.powertime is not None
    event = NodeEvent.objects.get(node=node)
    assert (event.kind, event.message, event.user) == ("power", "rpower off: off", operator)
    row = AuditEvent.objects.get(verb="node.rpower")
    assert (row.username, row.object_name, row.outcome) == (operator.username, "lab03", "success")


def test_the_job_page_shows_per_node_results(lab: Lab, operator_web: Client) -> None:
    register(lab, "lab04")
    operator_web.post("/nodes/power/", {"node": "lab04", "action": "stat"})
    job = Job.objects.get()
    jobs.run_job(job.pk)
    html = operator_web.get(f"/jobs/{job.pk}/").content.decode()
    assert "<td>lab04</td>" in html and "1 ok, 0 failed" in html


def test_rpower_on_the_cli_prints_xcat_lines_and_records_a_job(lab: Lab) -> None:
    register(lab, "lab05")
    out, _ = cli("rpower", "lab05", "stat")
    assert out.splitlines() == [f"lab05: {lab.power('lab05')}"]
    job = Job.objects.get()
    assert (job.kind, job.status, job.requested_by_name.endswith("@cli")) == (
        "rpower",
        "succeeded",
        True,
    )


def test_rsetboot_net_on_the_cli_sets_network_boot(lab: Lab) -> None:
    register(lab, "lab06")
    out, _ = cli("rsetboot", "lab06", "net")
    assert out.splitlines() == ["lab06: Network"]
    assert lab.boot("lab06") == "pxe"
    out, _ = cli("rsetboot", "lab", "stat")
    assert out.splitlines() == ["lab06: Network"]


def test_an_unreachable_bmc_fails_its_node_only_and_quickly(lab: Lab) -> None:
    register(lab, "lab01")
    make_node("gone", bmc=f"127.0.0.1:{free_base_port(1)}", bmcusername="admin", bmcpassword="x")
    start = time.monotonic()
    with pytest.raises(CommandError, match=r"1 of 2 node\(s\) failed"):
        out, err = cli("rpower", "lab01,gone", "stat")
    assert time.monotonic() - start < 3
    job = Job.objects.get()
    assert job.status == "failed" and job.results["lab01"]["ok"]
    assert "BMC unreachable at 127.0.0.1:" in job.results["gone"]["error"]


def test_a_node_without_a_bmc_says_how_to_set_one() -> None:
    make_node("nobmc")
    with pytest.raises(CommandError):
        cli("rpower", "nobmc", "stat")
    assert Job.objects.get().results["nobmc"]["error"] == (
        "no BMC address: set it with chdef -t node -o nobmc bmc=HOST[:PORT]"
    )


def test_rpower_on_the_cli_as_a_viewer_is_refused(viewer) -> None:
    make_node("node01", bmc="127.0.0.1:9")
    with pytest.raises(CommandError, match="may not do this"):
        cli("rpower", "node01", "on", "--user", viewer.username)
    assert not Job.objects.exists()
