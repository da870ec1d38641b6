"""Jobs: queued after commit, run by a real django-q2 cluster, outcome recorded."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.test import Client

from snportal import jobs
from snportal.models import AuditEvent, Job
from testsupport.processes import qcluster
from testsupport.waiting import wait_until


def failing_body(ctx: jobs.JobContext) -> None:
    ctx.log("about to fail")
    raise RuntimeError("disk on fire")


def partial_body(ctx: jobs.JobContext) -> None:
    ctx.set_results({"n1": {"ok": True, "value": "on"}, "n2": {"ok": False, "error": "timeout"}})


@pytest.mark.django_db
def test_submit_queues_only_after_commit(django_capture_on_commit_callbacks) -> None:
    from django_q.models import OrmQ

    with django_capture_on_commit_callbacks() as callbacks:
        job = jobs.submit("check-workers", "snportal.tasks.check_workers")
    assert job.status == "queued"
    assert not OrmQ.objects.exists()
    for callback in callbacks:
        callback()
    assert OrmQ.objects.count() == 1


@pytest.mark.django_db
def test_run_job_records_success_and_log() -> None:
    job = Job.objects.create(kind="check-workers", func="snportal.jobs.check_workers")
    assert jobs.run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 100
    assert f"ran job #{job.pk}" in job.log
    assert job.started and job.finished


@pytest.mark.django_db
def test_a_crashing_body_fails_the_job_with_its_traceback() -> None:
    job = Job.objects.create(kind="t", func="snportal.tests.test_jobs.failing_body")
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "RuntimeError: disk on fire"
    assert "about to fail" in job.log and "Traceback" in job.log


@pytest.mark.django_db
def test_a_failed_target_fails_the_job_and_names_it() -> None:
    job = Job.objects.create(kind="t", func="snportal.tests.test_jobs.partial_body")
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "n2" in job.error


@pytest.mark.django_db
def test_a_cancelled_queued_job_never_runs() -> None:
    job = Job.objects.create(kind="t", func="snportal.tests.test_jobs.failing_body")
    assert jobs.cancel(job)
    assert jobs.run_job(job.pk).startswith("not queued")
    job.refresh_from_db()
    assert job.status == "cancelled" and job.log == ""


@pytest.mark.django_db
def test_a_job_of_a_dead_worker_is_reaped_as_failed() -> None:
    import socket

    job = Job.objects.create(
        kind="t",
        func="x.y",
        status="running",
        worker_pid=2**22 + 7,
        worker_host=socket.gethostname(),
    )
    assert jobs.reap_interrupted() == 1
    job.refresh_from_db()
    assert job.status == "failed" and "interrupted" in job.error


@pytest.mark.django_db
def test_viewer_cannot_cancel_a_job(viewer_web: Client) -> None:
    job = Job.objects.create(kind="t", func="x.y")
    assert viewer_web.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.status == "queued"


@pytest.mark.django_db
def test_operator_cancels_a_queued_job_and_it_is_audited(operator_web: Client) -> None:
    job = Job.objects.create(kind="t", func="x.y")
    response = operator_web.post(f"/jobs/{job.pk}/cancel/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert AuditEvent.objects.filter(verb="job.cancel", outcome="success").exists()


@pytest.mark.django_db
def test_cancel_is_post_only(operator_web: Client) -> None:
    job = Job.objects.create(kind="t", func="x.y")
    assert operator_web.get(f"/jobs/{job.pk}/cancel/").status_code == 405


@pytest.mark.django_db
def test_job_pages_show_status_and_log(viewer_web: Client) -> None:
    job = Job.objects.create(kind="build", func="x.y", log="step one\n", target="img1")
    assert b"img1" in viewer_web.get("/jobs/").content
    assert b"step one" in viewer_web.get(f"/jobs/{job.pk}/").content


@pytest.mark.qcluster
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_runs_a_job_end_to_end(admin_web: Client) -> None:
    """Starts `manage.py qcluster` against the test database: no sync mode, no mocks."""
    with qcluster():
        response = admin_web.post("/jobs/check-workers/")
        assert response.status_code == 302
        job = Job.objects.latest("pk")

        def finished() -> bool:
            job.refresh_from_db()
            return job.is_finished

        wait_until(finished, 60, 0.3, message=lambda: f"job #{job.pk} is still {job.status}")
        assert job.status == "succeeded", job.log + job.error
        assert job.worker_pid != os.getpid()
        assert f"pid {job.worker_pid} ran job #{job.pk}" in job.log


BASE = Path(__file__).resolve().parents[2]
#: Where product code lives; tests, benchmarks and migrations may make rows directly.
_SKIPPED_DIRS = {"tests", "migrations", "benchmarks", "var", "node_modules", "static", "deploy"}
_MAKES_A_JOB = re.compile(
    r"Job\.objects\.(create|bulk_create|get_or_create|update_or_create)\b"
    r"|(?<!class )\bJob\(|\basync_task\(|\benqueue\("
)


def _product_sources() -> list[Path]:
    sources = []
    for path in BASE.rglob("*.py"):
        parts = set(path.relative_to(BASE).parts[:-1])
        if not parts & _SKIPPED_DIRS and not any(p.startswith(".") for p in parts):
            sources.append(path)
    return sources


def test_submit_is_the_only_way_to_make_a_job() -> None:
    """Only snportal/jobs.py makes Job rows or queues django-q2 tasks; everything else
    calls jobs.submit (docs/architecture.md, "The job path")."""
    sources = _product_sources()
    assert any(p.name == "services.py" and p.parent.name == "nodes" for p in sources)
    offenders = [
        f"{path.relative_to(BASE)}:{n}: {line.strip()}"
        for path in sources
        if path != BASE / "snportal" / "jobs.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if _MAKES_A_JOB.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


@pytest.mark.django_db
def test_submit_in_the_foreground_runs_the_job_here() -> None:
    job = jobs.submit("check-workers", "snportal.tasks.check_workers", foreground=True)
    assert job.status == "succeeded" and job.phase == "workers are running"
    assert f"pid {os.getpid()} ran job #{job.pk}" in job.log


@pytest.mark.django_db(transaction=True)
def test_a_foreground_job_streams_its_log_as_it_grows() -> None:
    """The body runs in a thread with its own connection (rows committed) while the
    caller's thread hands the log to ``stream``: what the terminal shows is the job's log."""
    seen: list[str] = []
    job = jobs.submit(
        "check-workers", "snportal.tasks.check_workers", foreground=True, stream=seen.append
    )
    assert job.status == "succeeded"
    assert "".join(seen) == job.log and f"ran job #{job.pk}" in job.log


@pytest.mark.django_db
def test_a_reserve_that_refuses_makes_no_job() -> None:
    def refuse(job: Job) -> None:
        raise RuntimeError("locked by another build")

    with pytest.raises(RuntimeError, match="locked"):
        jobs.submit("check-workers", "snportal.tasks.check_workers", reserve=refuse)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_the_old_body_address_still_runs() -> None:
    job = Job.objects.create(kind="check-workers", func="snportal.jobs.check_workers")
    assert jobs.run_job(job.pk) == "succeeded"
