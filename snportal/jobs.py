"""Jobs: the one door from a verb to a job to per-node results.

:func:`submit` is the only way a job is made. A view calls it inside its transaction and
the job is queued only after commit (a worker must never see a job row that might still
roll back); a CLI verb calls it with ``foreground=True`` and the job runs in this process,
its log streamed to the terminal, recorded exactly as a queued one. With ``targets`` (node
names) the job is routed: one part per cluster serving some of the nodes
(docs/hierarchy.md), the management node's part run here in the foreground, the others
waited for.

The runner (:func:`run_job`, :func:`run_part`) claims the row race-free, gives the body a
:class:`JobContext` and records the outcome. A body over nodes returns its per-node
results (``{name: Result}``); the runner, and only the runner, stores them, writes their
``node: value`` lines, the summary, and the job's one closing audit row, which the body
declares with :func:`closes_with`.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from snportal import audit, events
from snportal.models import Job
from xcat.noderange import compress

#: How often a foreground run prints the new part of its log.
STREAM_POLL_SECONDS = 0.3


#: A job body: does the work; per-node results (``{name: Result}``) or a summary line.
Body = Callable[["JobContext"], Any]


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.check_cancel` so a body stops where it is."""


@dataclass(frozen=True)
class Closing:
    """The job's one closing audit row, written by the runner when the job finishes.

    ``summary`` (jobs over nodes) is formatted with the counts of the results:
    ``"rpower on: {ok} ok, {failed} failed"``; it is also the job's phase when it succeeds.
    """

    verb: str
    object_type: str
    object_name: str
    object_id: str = ""
    after: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def closes_with(spec: Callable[[Job], Closing]) -> Callable[[Body], Body]:
    """Declare a body's closing audit row: ``spec(job)`` when the job has finished."""

    def mark(body: Body) -> Body:
        body.closing = spec  # type: ignore[attr-defined]
        return body

    return mark


def closing_of(job: Job) -> Closing | None:
    """The closing row a job's body declared (None: the body writes no closing row)."""
    try:
        spec = getattr(_import(job.func), "closing", None)
    except (ImportError, AttributeError, ValueError):
        return None
    return spec(job) if spec is not None else None


class JobContext:
    """What a job body may do to its job row. Writes are single UPDATEs, safe to call often."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.pk = job.pk
        self.params = job.params

    @property
    def actor(self) -> audit.Actor:
        """Who asked for the job; a job over nodes keeps the request's address and agent."""
        given = self.params.get("actor")
        if given:
            return audit.Actor(**given)
        return audit.Actor(self.job.requested_by_id, self.job.requested_by_name or "system")

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


# --- The one door ----------------------------------------------------------------------------


def submit(
    kind: str,
    body: str,
    targets: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    actor: audit.Actor | None = None,
    foreground: bool = False,
    cluster: str | None = None,
    *,
    queue: bool = True,
    label: str = "",
    request: str = "",
    reserve: Callable[[Job], None] | None = None,
    stream: Callable[[str], None] | None = None,
) -> Job:
    """Make a job: queued after commit, or (``foreground``) run here now; the job.

    Call it with ``foreground`` outside any transaction: the job row must be committed
    before the body runs (a streaming thread and the service nodes' parts read it).

    ``body`` is the dotted path of the job body (``<app>.tasks.<name>``). ``targets`` routes
    the job over those node names (one part per cluster, ``params["nodes"]`` = the part's
    nodes); without it the job runs once, on ``cluster``'s queue (default: this one).
    ``reserve(job)`` runs in the transaction that makes the job (a build lock): raising
    there makes no job. ``stream`` receives the log as it grows (foreground, unrouted).
    ``queue=False`` makes the job and leaves it to the caller, who runs it with
    :func:`run_here` (a command that first prints the job's number) or :func:`run_job`.
    ``request`` is the verb of the request's audit row (``node.rpower.request``), written
    with a queued job, carrying the client's address; the outcome is the closing row.
    """
    actor = actor or audit.current_actor() or audit.Actor(None, "system")
    values: dict[str, Any] = dict(params or {})
    if targets is not None:
        values["actor"] = dataclasses.asdict(actor)
    job = Job(
        kind=kind,
        target=label[:500],
        func=body,
        params=values,
        requested_by_id=actor.user_id,
        requested_by_name=actor.username,
    )
    with transaction.atomic():
        if targets is None:
            job.save()
        else:
            route(job, targets)
        if reserve is not None:
            reserve(job)
        if request and not foreground:
            _record_request(job, request, actor, targets)
        if queue and not foreground:
            if targets is None:
                transaction.on_commit(lambda: _queue(job.pk, cluster))
            elif job.parts:
                transaction.on_commit(lambda: submit_parts(job.pk))
    events.job_changed(job.pk, status=job.status, kind=kind, target=job.target, progress=0)
    return run_here(job, stream) if foreground else job


def _record_request(job: Job, verb: str, actor: audit.Actor, targets: Sequence[str] | None) -> None:
    given = {k: v for k, v in job.params.items() if k not in ("nodes", "actor")}
    count = {"nodes": len(targets)} if targets is not None else {}
    audit.record(
        verb,
        actor=actor,
        obj=job,
        object_type="job",
        object_name=job.target,
        after={**given, **count, "job": job.pk},
    )


def _queue(job_pk: int, cluster: str | None) -> None:
    from django_q.tasks import async_task

    options: dict[str, Any] = {"task_name": f"job-{job_pk}"}
    if cluster:
        options["cluster"] = cluster
    async_task("snportal.jobs.run_job", job_pk, q_options=options)


def run_here(job: Job, stream: Callable[[str], None] | None = None) -> Job:
    """Run a job just made in this process (the CLI's foreground); the finished job.

    A routed job queues its service nodes' parts, runs the management node's part here
    and waits for the others. With ``stream``, the body runs in a thread while this one
    hands the log to ``stream`` as it grows (what the terminal shows is what the job page
    shows); Ctrl-C asks the job to cancel and waits for it to stop.
    """
    if job.parts or job.is_finished:
        return run_routed_here(job) if job.parts else job
    if stream is None:
        run_job(job.pk)
        job.refresh_from_db()
        return job
    worker = threading.Thread(target=_run_closing, args=(job.pk,), name=f"job-{job.pk}")
    worker.start()
    shown = 0
    try:
        while worker.is_alive():
            worker.join(STREAM_POLL_SECONDS)
            shown = _stream_new(job.pk, shown, stream)
    except KeyboardInterrupt:
        stream(f"cancelling job #{job.pk} …\n")
        cancel(job)
        worker.join()
    _stream_new(job.pk, shown, stream)
    job.refresh_from_db()
    return job


def _run_closing(job_pk: int) -> None:
    try:
        run_job(job_pk)
    finally:
        connections.close_all()


def _stream_new(job_pk: int, shown: int, stream: Callable[[str], None]) -> int:
    """Hand the part of the log not streamed yet to ``stream``; fetch only that part."""
    new = (
        Job.objects.filter(pk=job_pk)
        .annotate(tail=Substr("log", shown + 1))
        .values_list("tail", flat=True)
        .first()
    ) or ""
    if new:
        stream(new)
    return shown + len(new)


# --- The runner ------------------------------------------------------------------------------


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
    ctx = JobContext(Job.objects.get(pk=job_pk))
    summary, error = _run_body(ctx, ctx.params.get("nodes"))
    if error == CANCELLED:
        _finish(job_pk, Job.Status.CANCELLED, error)
        return "cancelled"
    if error:
        _finish(job_pk, Job.Status.FAILED, error)
        return "failed"
    results = Job.objects.get(pk=job_pk).results
    failed = [n for n, r in results.items() if not r.get("ok")]
    summary = _summary(closing_of(ctx.job), results) or summary
    if failed:
        _finish(
            job_pk,
            Job.Status.FAILED,
            f"{len(failed)} target(s) failed: {', '.join(failed[:20])}",
            summary=summary,
        )
        return "failed"
    _finish(job_pk, Job.Status.SUCCEEDED, "", summary=summary)
    return "succeeded"


CANCELLED = "cancelled by request"


def _run_body(ctx: JobContext, names: Sequence[str] | None) -> tuple[str, str]:
    """Run the job's body as the job's actor; (summary, error). Per-node results the body
    returns are stored here, with their ``node: value`` lines, once."""
    token = audit.set_actor(ctx.actor)
    try:
        returned = _import(ctx.job.func)(ctx)
    except JobCancelled:
        return "", CANCELLED
    except Exception as exc:  # the job page must show any crash, whatever it is
        ctx.log(traceback.format_exc())
        return "", f"{type(exc).__name__}: {exc}"
    finally:
        audit.reset_actor(token)
    if isinstance(returned, Mapping):
        return _record_results(ctx, returned, names), ""
    return str(returned or ""), ""


def _record_results(
    ctx: JobContext, returned: Mapping[str, Any], names: Sequence[str] | None
) -> str:
    """Store a body's ``{name: Result}``, log its ``node: value`` lines; the part's summary."""
    order = list(names) if names else list(returned)
    stored: dict[str, dict[str, Any]] = {}
    lines = []
    for name in order:
        r = returned.get(name)
        ok, value, error = (r.ok, r.value, r.error) if r is not None else (False, "", "no result")
        stored[name] = {"ok": True, "value": value} if ok else {"ok": False, "error": error}
        lines.append(f"{name}: {value if ok else 'Error: ' + error}")
    ctx.set_results(stored)
    if lines:
        ctx.log("\n".join(lines))
    return _summary(closing_of(ctx.job), stored)


def _summary(closing: Closing | None, results: Mapping[str, Mapping[str, Any]]) -> str:
    """The closing summary template filled with the results' counts ("" without one)."""
    template = closing.summary if closing is not None else ""
    if not template or not results:
        return ""
    failed = sum(1 for r in results.values() if not r.get("ok"))
    return template.format(ok=len(results) - failed, failed=failed)


def _finish(job_pk: int, status: str, error: str, summary: str = "") -> None:
    """Record the outcome (only of a running job) and write its one closing audit row."""
    fields: dict[str, Any] = {"status": status, "finished": timezone.now(), "error": error}
    if status == Job.Status.SUCCEEDED:
        fields["progress"] = 100
        if summary:
            fields["phase"] = summary[:120]
    if Job.objects.filter(pk=job_pk, status=Job.Status.RUNNING).update(**fields):
        events.job_changed(job_pk, **{k: v for k, v in fields.items() if k != "finished"})
        _close(Job.objects.get(pk=job_pk), summary)


def _close(job: Job, summary: str) -> None:
    """The job's closing audit row, if it asked for one (:class:`Closing`)."""
    spec = closing_of(job)
    if spec is None:
        return
    failed = sorted(n for n, r in job.results.items() if not r.get("ok"))
    if spec.summary:
        message = summary or job.error
        if failed:
            message += f" ({compress(failed)})"
    elif job.status == Job.Status.SUCCEEDED:
        message = f"job #{job.pk}: {summary}"
    else:
        message = f"job #{job.pk} {job.status}: {job.error}"
    event = audit.build(
        spec.verb,
        actor=JobContext(job).actor,
        object_type=spec.object_type,
        object_name=spec.object_name,
        after={**spec.after, "job": job.pk},
        outcome="success" if job.status == Job.Status.SUCCEEDED else "failure",
        message=message,
    )
    event.object_id = spec.object_id[:64]
    event.save()


def _import(dotted: str) -> Body:
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
    ctx = PartContext(Job.objects.get(pk=job_pk), part)
    names = ctx.params["nodes"]
    summary, error = _run_body(ctx, names)
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
    if job.cancel_requested and any(p.get("error") == CANCELLED for p in parts):
        _finish(job_pk, Job.Status.CANCELLED, CANCELLED)
        return "cancelled"
    failed = [n for n, r in job.results.items() if not r.get("ok")]
    crashed = [p["error"] for p in parts if p.get("error")]
    if crashed or failed:
        message = (
            crashed[0]
            if crashed and len(crashed) == len(job.parts) and len(crashed) == 1
            else f"{len(failed)} target(s) failed: {', '.join(sorted(failed)[:20])}"
        )
        _finish(job_pk, Job.Status.FAILED, message, summary=_summary(closing_of(job), job.results))
        return "failed"
    summaries = [p.get("summary", "") for p in parts if p.get("summary")]
    summary = _summary(closing_of(job), job.results) or "; ".join(summaries)
    _finish(job_pk, Job.Status.SUCCEEDED, "", summary=summary)
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
        if pid and not pid_alive(pid):
            reaped += Job.objects.filter(pk=pk, status=Job.Status.RUNNING).update(
                status=Job.Status.FAILED,
                finished=timezone.now(),
                error=f"interrupted: worker process {pid} died while running it",
            )
    return reaped


def pid_alive(pid: int) -> bool:
    """True while a process of that id exists (also one of another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def __getattr__(name: str) -> Any:
    """``snportal.jobs.check_workers``, the body's old address, still names it (rows and
    callers made before the bodies moved to ``<app>/tasks.py``)."""
    if name == "check_workers":
        from snportal.tasks import check_workers

        return check_workers
    raise AttributeError(name)
