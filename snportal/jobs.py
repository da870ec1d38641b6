"""Jobs: the record the UI shows, and the wrapper that runs a job body in a worker.

A view or command calls :func:`enqueue` inside its transaction; the django-q2 task is queued
only after commit (a worker must never see a job row that might still roll back). The worker
runs :func:`run_job`, which claims the row race-free, gives the body a :class:`JobContext`
(log lines, progress, per-target results, cancel checks) and records the outcome, including
the traceback of a crash.
"""

from __future__ import annotations

import importlib
import os
import socket
import traceback
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from snportal import audit, events
from snportal.models import Job


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.check_cancel` so a body stops where it is."""


class JobContext:
    """What a job body may do to its job row. Writes are single UPDATEs, safe to call often."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.pk = job.pk
        self.params = job.params

    def log(self, line: str) -> None:
        """Append a line to the job's log (visible on the job page as it grows)."""
        text = line if line.endswith("\n") else line + "\n"
        Job.objects.filter(pk=self.pk).update(log=Concat(F("log"), Value(text)))
        events.publish("joblog", job=self.pk, line=text[-4000:])

    def progress(self, percent: int, phase: str | None = None) -> None:
        fields: dict[str, Any] = {"progress": max(0, min(100, int(percent)))}
        if phase is not None:
            fields["phase"] = phase[:120]
        Job.objects.filter(pk=self.pk).update(**fields)
        events.job_changed(self.pk, **fields)

    def set_results(self, results: dict[str, dict[str, Any]]) -> None:
        """Store per-target results: ``{name: {"ok": bool, "value"|"error": str}}``."""
        Job.objects.filter(pk=self.pk).update(results=results)

    def cancelled(self) -> bool:
        return Job.objects.filter(pk=self.pk, cancel_requested=True).exists()

    def check_cancel(self) -> None:
        if self.cancelled():
            raise JobCancelled()


def enqueue(
    kind: str,
    func: str,
    *,
    target: str = "",
    params: dict[str, Any] | None = None,
    user: Any = None,
    actor: audit.Actor | None = None,
    cluster: str | None = None,
) -> Job:
    """Create a queued job and hand it to the workers after the transaction commits."""
    username = user.get_username() if user is not None and user.is_authenticated else ""
    if not username and actor is not None:
        username = actor.username
    job = Job.objects.create(
        kind=kind,
        target=target[:500],
        func=func,
        params=params or {},
        requested_by=user if user is not None and user.is_authenticated else None,
        requested_by_name=username,
    )
    transaction.on_commit(lambda: _submit(job.pk, cluster))
    events.job_changed(job.pk, status=job.status, kind=kind, target=job.target, progress=0)
    return job


def _submit(job_pk: int, cluster: str | None) -> None:
    from django_q.tasks import async_task

    options: dict[str, Any] = {"task_name": f"job-{job_pk}"}
    if cluster:
        options["cluster"] = cluster
    async_task("snportal.jobs.run_job", job_pk, q_options=options)


def run_job(job_pk: int) -> str:
    """The django-q2 task: claim the job, run its body, record the outcome."""
    reap_interrupted()
    claimed = Job.objects.filter(pk=job_pk, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started=timezone.now(),
        worker_pid=os.getpid(),
        worker_host=socket.gethostname(),
    )
    if not claimed:
        return "not queued (cancelled or already claimed)"
    events.job_changed(job_pk, status=Job.Status.RUNNING)
    job = Job.objects.get(pk=job_pk)
    ctx = JobContext(job)
    token = audit.set_actor(audit.Actor(job.requested_by_id, job.requested_by_name or "system"))
    try:
        body = _import(job.func)
        summary = body(ctx) or ""
    except JobCancelled:
        _finish(job_pk, Job.Status.CANCELLED, "cancelled by request")
        return "cancelled"
    except Exception as exc:  # the job page must show any crash, whatever it is
        ctx.log(traceback.format_exc())
        _finish(job_pk, Job.Status.FAILED, f"{type(exc).__name__}: {exc}")
        return "failed"
    finally:
        audit.reset_actor(token)
    failed = [n for n, r in Job.objects.get(pk=job_pk).results.items() if not r.get("ok")]
    if failed:
        _finish(
            job_pk, Job.Status.FAILED, f"{len(failed)} target(s) failed: {', '.join(failed[:20])}"
        )
        return "failed"
    _finish(job_pk, Job.Status.SUCCEEDED, "", summary=str(summary))
    return "succeeded"


def _finish(job_pk: int, status: str, error: str, summary: str = "") -> None:
    fields: dict[str, Any] = {"status": status, "finished": timezone.now(), "error": error}
    if status == Job.Status.SUCCEEDED:
        fields["progress"] = 100
        if summary:
            fields["phase"] = summary[:120]
    if Job.objects.filter(pk=job_pk, status=Job.Status.RUNNING).update(**fields):
        events.job_changed(job_pk, **{k: v for k, v in fields.items() if k != "finished"})


def _import(dotted: str) -> Callable[[JobContext], Any]:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def cancel(job: Job) -> bool:
    """Cancel a queued job at once, or ask a running one to stop; False if already finished."""
    if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, finished=timezone.now(), error="cancelled before it started"
    ):
        return True
    return bool(
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    )


def reap_interrupted() -> int:
    """Mark failed the running jobs of this host whose worker process is gone (killed worker)."""
    reaped = 0
    host = socket.gethostname()
    for pk, pid in Job.objects.filter(status=Job.Status.RUNNING, worker_host=host).values_list(
        "pk", "worker_pid"
    ):
        if pid and not _alive(pid):
            reaped += Job.objects.filter(pk=pk, status=Job.Status.RUNNING).update(
                status=Job.Status.FAILED,
                finished=timezone.now(),
                error=f"interrupted: worker process {pid} died while running it",
            )
    return reaped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_workers(ctx: JobContext) -> str:
    """A job body that proves the workers run jobs: reports where it ran."""
    ctx.progress(50, "answering")
    ctx.log(f"worker {socket.gethostname()} pid {os.getpid()} ran job #{ctx.pk}")
    return "workers are running"
