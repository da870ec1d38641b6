"""Routed jobs: parts per cluster on django-q2's ORM broker, merged results, failing at once."""

from __future__ import annotations

import pytest
from django.test import Client
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from hierarchy.tests.factories import make_sn
from nodes import services
from nodes.power.base import Result
from nodes.tests.factories import make_node
from snportal import audit, jobs
from snportal.models import AuditEvent, Job


def report_body(ctx: jobs.JobContext) -> str:
    """Answers for its part's nodes: a stand-in for rpower that needs no BMC."""
    ctx.set_results({n: {"ok": True, "value": "on"} for n in ctx.params["nodes"]})
    return f"{len(ctx.params['nodes'])} ok"


def _queue(job: Job) -> dict[str, list]:
    return {row.key: SignedPackage.loads(row.payload)["args"] for row in OrmQ.objects.all()}


@pytest.mark.django_db
def test_a_job_over_nodes_is_queued_per_cluster(django_capture_on_commit_callbacks) -> None:
    make_sn("sn01")
    make_node("c1", servicenode="sn01")
    make_node("m1")
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("t", "hierarchy.tests.test_parts.report_body", ["c1", "m1"])
    assert job.parts == {
        "sn01": {"nodes": ["c1"], "state": "queued"},
        "snportal": {"nodes": ["m1"], "state": "queued"},
    }
    assert _queue(job) == {"sn01": (job.pk, "sn01"), "snportal": (job.pk, "snportal")}


@pytest.mark.django_db
def test_parts_merge_their_results_and_the_last_one_finishes_the_job() -> None:
    make_sn("sn01")
    make_node("c1", servicenode="sn01")
    make_node("m1")
    job = jobs.submit("t", "hierarchy.tests.test_parts.report_body", ["c1", "m1"], queue=False)
    assert jobs.run_part(job.pk, "sn01") == "part done"
    job.refresh_from_db()
    assert job.status == "running"
    assert jobs.run_part(job.pk, "snportal") == "succeeded"
    job.refresh_from_db()
    assert job.results == {
        "c1": {"ok": True, "value": "on", "on": "sn01"},
        "m1": {"ok": True, "value": "on", "on": "snportal"},
    }
    assert job.status == "succeeded" and job.parts_left == 0


@pytest.mark.django_db
def test_a_part_runs_only_once() -> None:
    make_node("m1")
    job = jobs.submit("t", "hierarchy.tests.test_parts.report_body", ["m1"], queue=False)
    assert jobs.run_part(job.pk, "snportal") == "succeeded"
    assert jobs.run_part(job.pk, "snportal").startswith("part not queued")


@pytest.mark.django_db
def test_nodes_of_a_silent_service_node_fail_at_once_and_the_rest_runs(
    django_capture_on_commit_callbacks,
) -> None:
    make_sn("sn01", age=600)
    make_node("c1", servicenode="sn01")
    make_node("m1")
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.submit("t", "hierarchy.tests.test_parts.report_body", ["c1", "m1"])
    assert list(OrmQ.objects.values_list("key", flat=True)) == ["snportal"]
    assert job.results["c1"]["ok"] is False
    assert "service node sn01 has no heartbeat since" in job.results["c1"]["error"]
    jobs.run_part(job.pk, "snportal")
    job.refresh_from_db()
    assert job.status == "failed" and "c1" in job.error


@pytest.mark.django_db
def test_a_job_whose_nodes_all_have_silent_service_nodes_fails_at_once(
    operator_web: Client, django_capture_on_commit_callbacks
) -> None:
    make_sn("sn01", age=None)
    make_node("c1", servicenode="sn01", bmc="127.0.0.1:9")
    with django_capture_on_commit_callbacks(execute=True):
        operator_web.post("/nodes/power/", {"node": ["c1"], "action": "on"})
    job = Job.objects.get()
    assert job.status == "failed"
    assert "sn01 has never sent a heartbeat" in job.error
    assert not OrmQ.objects.exists()


@pytest.mark.django_db
def test_rpower_cli_fails_a_node_behind_a_silent_service_node_with_the_reason() -> None:
    from django.core.management.base import CommandError

    from nodes.tests.factories import cli

    make_sn("sn01", age=120)
    make_node("c1", servicenode="sn01", bmc="127.0.0.1:9")
    with pytest.raises(CommandError):
        cli("rpower", "c1", "stat")
    job = Job.objects.get()
    assert "sn01 has no heartbeat" in job.results["c1"]["error"]


@pytest.mark.django_db(transaction=True)
def test_the_foreground_waits_for_the_service_nodes_part() -> None:
    """The SN's part is taken from the ORM queue and run here, as sn01's cluster would,
    while another thread waits as the CLI verbs do."""
    import threading

    make_sn("sn01")
    make_node("c1", servicenode="sn01")
    job = jobs.submit("t", "hierarchy.tests.test_parts.report_body", ["c1"], queue=False)
    done: list[Job] = []
    waiter = threading.Thread(
        target=lambda: done.append(jobs.wait(job.pk, timeout=20, poll=0.05)), daemon=True
    )
    jobs.submit_parts(job.pk, skip=["snportal"])
    (row,) = OrmQ.objects.filter(key="sn01")
    waiter.start()
    jobs.run_part(*SignedPackage.loads(row.payload)["args"])
    waiter.join(timeout=30)
    assert done and done[0].status == "succeeded"
    assert done[0].results["c1"]["on"] == "sn01"


@pytest.mark.django_db
def test_the_job_page_shows_where_each_node_ran(viewer_web: Client) -> None:
    make_sn("sn01")
    make_node("c1", servicenode="sn01")
    job = jobs.submit("t", "hierarchy.tests.test_parts.report_body", ["c1"], queue=False)
    jobs.run_part(job.pk, "sn01")
    page = viewer_web.get(f"/jobs/{job.pk}/").content.decode()
    assert "Ran on" in page and "<td>sn01</td>" in page


@pytest.mark.django_db
def test_power_requests_from_the_cli_actor_are_routed_too() -> None:
    make_sn("sn01")
    make_node("c1", servicenode="sn01")
    job = services.request_power("rpower", ["c1"], "stat", user=None, actor=audit.cli_actor())
    assert job.parts == {"sn01": {"nodes": ["c1"], "state": "queued"}}


@jobs.closes_with(
    lambda job: jobs.Closing(
        "node.answer",
        "node",
        ",".join(job.params["nodes"]),
        after={"nodes": len(job.params["nodes"])},
        summary="answer: {ok} ok, {failed} failed",
    )
)
def answering_body(ctx: jobs.JobContext) -> dict[str, Result]:
    """A body as the node verbs write them: per-node results returned, nothing recorded."""
    return {n: Result(n != "bad", value="on", error="no BMC") for n in ctx.params["nodes"]}


@pytest.mark.django_db
def test_runner_writes_one_closing_audit_row_per_job() -> None:
    make_sn("sn01")
    make_node("c1", servicenode="sn01")
    make_node("m1")
    make_node("bad")
    job = jobs.submit("answer", "hierarchy.tests.test_parts.answering_body", ["c1", "m1", "bad"])
    jobs.run_part(job.pk, "sn01")
    assert not AuditEvent.objects.filter(verb="node.answer").exists()  # not after a part
    jobs.run_part(job.pk, "snportal")
    (row,) = AuditEvent.objects.filter(verb="node.answer")
    assert (row.object_name, row.outcome) == ("c1,m1,bad", "failure")
    assert row.after == {"nodes": 3, "job": job.pk}
    assert row.message == "answer: 2 ok, 1 failed (bad)"
    job.refresh_from_db()
    assert job.results["bad"] == {"ok": False, "error": "no BMC", "on": "snportal"}
    assert sorted(job.log.splitlines()) == ["bad: Error: no BMC", "c1: on", "m1: on"]


@pytest.mark.django_db
def test_a_job_over_nodes_in_the_foreground_runs_here_and_closes_once() -> None:
    make_node("m1")
    job = jobs.submit(
        "answer", "hierarchy.tests.test_parts.answering_body", ["m1"], foreground=True
    )
    assert (job.status, job.phase, job.log) == ("succeeded", "answer: 1 ok, 0 failed", "m1: on\n")
    row = AuditEvent.objects.get(verb="node.answer")
    assert (row.outcome, row.message) == ("success", "answer: 1 ok, 0 failed")
