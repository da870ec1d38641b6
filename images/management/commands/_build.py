"""Running a build job in the foreground of a command, printing its log as it grows.

The body runs through :func:`snportal.jobs.run_job` in a thread, exactly as a worker
runs it; this thread tails the job's log from the database, so what the terminal shows
is what the job page shows. Ctrl-C asks the job to cancel and waits for it to stop.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.models.functions import Substr

from images import services
from images.models import OsImage
from snportal import jobs
from snportal.management.commands._cli import actor
from snportal.models import Job

POLL_SECONDS = 0.3


def find_image(name: str) -> OsImage:
    image = OsImage.objects.filter(imagename=name).first()
    if image is None:
        raise CommandError(f"no osimage named {name!r} (lsdef -t osimage)")
    return image


def build(command: BaseCommand, options: dict[str, Any], kind: str, **build: str | None) -> Job:
    """genimage/packimage: take the image's build lock as ``--user`` and run the job here."""
    who = actor(options, "images.build_osimage")
    image = find_image(options["imagename"])
    try:
        job = services.start_build(image, kind, actor=who, submit=False, **build)
    except services.BuildError as e:
        raise CommandError(str(e)) from None
    return run_in_foreground(command, job)


def _run(job_pk: int) -> None:
    try:
        jobs.run_job(job_pk)
    finally:
        connections.close_all()


def run_in_foreground(command: BaseCommand, job: Job) -> Job:
    """Run ``job`` now, stream its log to stdout; CommandError unless it succeeded."""
    command.stderr.write(f"{job.kind} {job.target}: job #{job.pk}")
    worker = threading.Thread(target=_run, args=(job.pk,), name=f"job-{job.pk}")
    worker.start()
    shown = 0
    try:
        while worker.is_alive():
            worker.join(POLL_SECONDS)
            shown = _print_new(command, job.pk, shown)
    except KeyboardInterrupt:
        command.stderr.write(f"cancelling job #{job.pk} …")
        jobs.cancel(job)
        worker.join()
    _print_new(command, job.pk, shown)
    job.refresh_from_db()
    if job.status != Job.Status.SUCCEEDED:
        raise CommandError(f"{job.kind} {job.target}: job #{job.pk} {job.status}: {job.error}")
    command.stdout.write(job.phase)
    return job


def _print_new(command: BaseCommand, job_pk: int, shown: int) -> int:
    """Print the part of the log not printed yet; fetch only that part."""
    new = (
        Job.objects.filter(pk=job_pk)
        .annotate(tail=Substr("log", shown + 1))
        .values_list("tail", flat=True)
        .first()
    ) or ""
    if new:
        command.stdout.write(new, ending="")
        command.stdout.flush()
    return shown + len(new)
