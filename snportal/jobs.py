"""Jobs: the record the UI shows, and the wrapper that runs a job body in a worker.

A view or command calls :func:`enqueue` inside its transaction; the django-q2 task is queued
only after commit (a worker must never see a job row that might still roll back). The worker
runs :func:`run_job`, which claims the row race-free, gives the body a :class:`JobContext`
(log lines, progress, per-target results, cancel checks) and records the outcome, including
the traceback of a crash.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, transaction
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
    nodes: Sequence[str] | None = None,
) -> Job:
    """Create a queued job and hand it to the workers after the transaction commits.

    With ``nodes`` the job is routed (:func:`route`): one part per cluster serving some
    of the nodes, the body run once per part with ``params["nodes"]`` = that part's nodes.
    """
    username = user.get_username() if user is not None and user.is_authenticated else ""
    if not username and actor is not None:
        username = actor.username
    job = Job(
        kind=kind,
        target=target[:500],
        func=func,
        params=params or {},
        requested_by=user if user is not None and user.is_authenticated else None,
        requested_by_name=username,
    )
    if nodes is None:
        job.save()
        transaction.on_commit(lambda: _submit(job.pk, cluster))
    else:
        route(job, nodes)
        if job.parts:
            transaction.on_commit(lambda: submit_parts(job.pk))
    events.job_changed(job.pk, status=job.status, kind=kind, target=job.target, progress=0)
    return job


def _submit(job_pk: int, cluster: str | None) -> None:
    from django_q.tasks import async_task

    options: dict[str, Any] = {"task_name": f"job-{job_pk}"}
    if cluster:
        options["cluster"] = cluster
    async_task("snportal.jobs.run_job", job_pk, q_options=options)


def run_job(job_pk: int) -> str:
    """The django-q2 task: claim the job, run its body, record the outcome.

    For a routed job this runs the management node's part here (the CLI's foreground
    runs and tests), and returns the job's status if that finished the job.
    """
    parts = Job.objects.filter(pk=job_pk).values_list("parts", flat=True).first()
    if parts:
        return run_part(job_pk, mn_cluster()) if mn_cluster() in parts else "no local part"
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


# --- Routed jobs: one part per cluster (docs/hierarchy.md) ---------------------------------

#: ``plan(names) -> (parts, failed)``: ``parts`` maps a cluster (a service node's name, or
#: ``None`` for the management node) to its nodes, ``failed`` a node to why no cluster can
#: run its work. The hierarchy app installs its router in ``AppConfig.ready``.
Router = Callable[[Sequence[str]], tuple[dict[str | None, list[str]], dict[str, str]]]


def _local(names: Sequence[str]) -> tuple[dict[str | None, list[str]], dict[str, str]]:
    """Without service nodes every node's work runs on the management node."""
    return ({None: list(names)} if names else {}), {}


_router: Router = _local


def set_router(router: Router | None) -> None:
    """Install the function that splits nodes by cluster (``None``: all run here).

    The core knows no service nodes; the app that does (``hierarchy``) registers its
    :func:`hierarchy.routing.plan` here, so the core imports no product app.
    """
    global _router
    _router = router or _local


def plan(names: Sequence[str]) -> tuple[dict[str | None, list[str]], dict[str, str]]:
    """Split ``names`` by the cluster that runs their work (the installed router)."""
    return _router(names)


def mn_cluster() -> str:
    """The management node's django-q2 queue: jobs for nodes without a service node."""
    from django.conf import settings

    q = settings.Q_CLUSTER
    return str(q.get("cluster_name") or q.get("name") or "default")


class PartContext(JobContext):
    """A job body's context when it runs one part: its nodes, results merged, ``on`` set."""

    def __init__(self, job: Job, part: str) -> None:
        super().__init__(job)
        self.part = part
        self.cluster = cluster_of(part)
        self.params = {**job.params, "nodes": list(job.parts[part]["nodes"])}

    def set_results(self, results: dict[str, dict[str, Any]]) -> None:
        """Merge this part's per-node results into the job's (one atomic jsonb ``||``)."""
        merge_results(self.pk, {n: {**r, "on": self.cluster} for n, r in results.items()})


def cluster_of(part: str) -> str:
    """A part's cluster: its key up to ``#`` (``sn02#2``: a second part for sn02)."""
    return part.split("#", 1)[0]


def merge_results(job_pk: int, results: dict[str, dict[str, Any]]) -> None:
    """``results = results || new`` in one UPDATE: parts finishing together lose nothing."""
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {Job._meta.db_table} SET results = results || %s::jsonb WHERE id = %s",
            [json.dumps(results), job_pk],
        )


def route(job: Job, nodes: Sequence[str]) -> Job:
    """Split a (not yet saved) job over ``nodes`` into parts per cluster and save it.

    Nodes whose service nodes are all silent get their failure now, in the results, with
    the reason; if that is every node, the job is failed at once (nothing is queued).
    """
    names = list(nodes)
    job.params = {**job.params, "nodes": names}
    parts, failed = plan(names)
    job.parts = {
        (key or mn_cluster()): {"nodes": members, "state": "queued"}
        for key, members in parts.items()
    }
    job.parts_left = len(job.parts)
    job.results = {n: {"ok": False, "error": why, "on": ""} for n, why in failed.items()}
    if failed:
        job.log = "".join(f"{n}: Error: {why}\n" for n, why in failed.items())
    if not job.parts:
        job.status = Job.Status.FAILED
        job.finished = timezone.now()
        first = next(iter(failed.values()), "no nodes")
        job.error = f"no cluster can run it: {first}"[:2000]
    job.save()
    if failed:
        audit.record(
            f"job.{job.kind}.unroutable",
            actor=audit.Actor(job.requested_by_id, job.requested_by_name or "system"),
            obj=job,
            object_type="job",
            object_name=job.target,
            after={"nodes": len(failed), "job": job.pk},
            outcome="failure",
            message=next(iter(failed.values()))[:2000],
        )
    return job


def submit_parts(job_pk: int, *, skip: Sequence[str] = ()) -> None:
    """Queue each part on its cluster (the management node's part on the default queue)."""
    parts = Job.objects.filter(pk=job_pk).values_list("parts", flat=True).first() or {}
    for part in parts:
        if part not in skip:
            submit_part(job_pk, part)


def run_part(job_pk: int, part: str) -> str:
    """The django-q2 task of one part: run the body for the part's nodes, merge results.

    The first part to start claims the job (queued → running); the part that brings
    ``parts_left`` to 0 records the job's outcome.
    """
    reap_interrupted()
    Job.objects.filter(pk=job_pk, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started=timezone.now(),
        worker_pid=os.getpid(),
        worker_host=socket.gethostname(),
    )
    if not _claim_part(job_pk, part):
        return "part not queued (cancelled, moved or already claimed)"
    events.job_changed(job_pk, status=Job.Status.RUNNING)
    job = Job.objects.get(pk=job_pk)
    ctx = PartContext(job, part)
    names = ctx.params["nodes"]
    token = audit.set_actor(audit.Actor(job.requested_by_id, job.requested_by_name or "system"))
    summary, error = "", ""
    try:
        summary = str(_import(job.func)(ctx) or "")
    except JobCancelled:
        error = "cancelled by request"
    except Exception as exc:  # the job page must show any crash, whatever it is
        ctx.log(traceback.format_exc())
        error = f"{type(exc).__name__}: {exc}"
    finally:
        audit.reset_actor(token)
    if error:
        have = set(Job.objects.get(pk=job_pk).results)
        merge_results(
            job_pk,
            {n: {"ok": False, "error": error, "on": ctx.cluster} for n in names if n not in have},
        )
    if _finish_part(job_pk, part, summary, error) == 0:
        return _finish_routed(job_pk)
    return "part done"


def _claim_part(job_pk: int, part: str) -> bool:
    """queued → running for one part, only while the job runs (one UPDATE, race-free)."""
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {Job._meta.db_table} "
            "SET parts = jsonb_set(parts, ARRAY[%s, 'state'], '\"running\"') "
            "WHERE id = %s AND status = %s AND parts -> %s ->> 'state' = 'queued'",
            [part, job_pk, Job.Status.RUNNING, part],
        )
        return cur.rowcount == 1


def _finish_part(job_pk: int, part: str, summary: str, error: str) -> int:
    """Mark the part done and count it off; the parts still left (one UPDATE)."""
    done = {"state": "done", "summary": summary[:500], "error": error[:2000]}
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {Job._meta.db_table} "
            "SET parts = jsonb_set(parts, ARRAY[%s], (parts -> %s) || %s::jsonb), "
            "parts_left = parts_left - 1 WHERE id = %s RETURNING parts_left",
            [part, part, json.dumps(done), job_pk],
        )
        row = cur.fetchone()
    return row[0] if row else 0


def _finish_routed(job_pk: int) -> str:
    """The last part's duty: the job's outcome from all parts' results."""
    job = Job.objects.get(pk=job_pk)
    parts = job.parts.values()
    if job.cancel_requested and any(p.get("error") == "cancelled by request" for p in parts):
        _finish(job_pk, Job.Status.CANCELLED, "cancelled by request")
        return "cancelled"
    failed = [n for n, r in job.results.items() if not r.get("ok")]
    crashed = [p["error"] for p in parts if p.get("error")]
    if crashed or failed:
        message = (
            crashed[0]
            if crashed and len(crashed) == len(job.parts) and len(crashed) == 1
            else f"{len(failed)} target(s) failed: {', '.join(sorted(failed)[:20])}"
        )
        _finish(job_pk, Job.Status.FAILED, message)
        return "failed"
    summaries = [p.get("summary", "") for p in parts if p.get("summary")]
    _finish(job_pk, Job.Status.SUCCEEDED, "", summary="; ".join(summaries))
    return "succeeded"


def reroute_queued(job_pk: int, parts: Sequence[str]) -> list[str]:
    """Plan again the still-queued ``parts`` of a job (after snmove): their nodes go where
    routing now says; the new parts' keys, to submit after commit. Call inside a
    transaction, after deleting the parts' queued django-q2 tasks."""
    job = Job.objects.select_for_update().get(pk=job_pk)
    names: list[str] = []
    for part in parts:
        if job.parts.get(part, {}).get("state") == "queued":
            names += job.parts.pop(part)["nodes"]
            job.parts_left -= 1
    if not names:
        return []
    planned, failed = plan(names)
    added: list[str] = []
    for key, members in planned.items():
        cluster = key or mn_cluster()
        part, n = cluster, 1
        while part in job.parts:
            n += 1
            part = f"{cluster}#{n}"
        job.parts[part] = {"nodes": members, "state": "queued"}
        job.parts_left += 1
        added.append(part)
    job.results.update({n: {"ok": False, "error": why, "on": ""} for n, why in failed.items()})
    job.save(update_fields=["parts", "parts_left", "results"])
    if not job.parts_left and job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
        Job.objects.filter(pk=job_pk).update(status=Job.Status.RUNNING)
        transaction.on_commit(lambda: _finish_routed(job_pk))
    return added


def submit_part(job_pk: int, part: str) -> None:
    """Queue one part on its cluster."""
    from django_q.tasks import async_task

    options: dict[str, Any] = {"task_name": f"job-{job_pk}-{part}"}
    if cluster_of(part) != mn_cluster():
        options["cluster"] = cluster_of(part)
    async_task("snportal.jobs.run_part", job_pk, part, q_options=options)


def run_routed_here(job: Job, *, timeout: float | None = None) -> Job:
    """The CLI's foreground run: queue the service nodes' parts, run the management
    node's part in this process, wait for the others; the finished job."""
    submit_parts(job.pk, skip=[mn_cluster()])
    if mn_cluster() in job.parts:
        run_part(job.pk, mn_cluster())
    return wait(job.pk, timeout=timeout)


def wait(job_pk: int, *, timeout: float | None = None, poll: float = 0.2) -> Job:
    """Block until the job has finished (or ``timeout`` seconds pass); the job row."""
    from django.conf import settings

    limit = timeout if timeout is not None else float(settings.Q_CLUSTER["timeout"])
    deadline = time.monotonic() + limit
    job = Job.objects.get(pk=job_pk)
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(poll)
        job.refresh_from_db()
    return job


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
