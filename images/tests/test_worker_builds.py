"""Builds on a real ``manage.py qcluster``: the live log grows, and Cancel kills the step."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from images.models import OsImage
from images.tests.factories import make_image, make_version
from snportal import jobs
from snportal.models import Job
from testsupport.processes import qcluster
from testsupport.waiting import wait_until

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]

# A postinstall that says something, records its pid, then stays silent for long.
SLOW_POSTINSTALL = """#!/bin/sh
echo "postinstall: started"
echo $$ > "$IMG_ROOTIMGDIR/../postinstall.pid"
sleep 300
"""


@pytest.fixture
def worker(images_dir: Path) -> Iterator[subprocess.Popen]:
    with qcluster({"SNPORTAL_IMAGES_DIR": str(images_dir)}) as process:
        yield process


def test_the_build_log_grows_live_and_cancel_stops_the_whole_step(
    worker: subprocess.Popen, operator_web: Client, images_dir: Path
) -> None:
    image = make_image(postinstall=SLOW_POSTINSTALL)
    previous = make_version(image)
    OsImage.objects.filter(pk=image.pk).update(current_version=previous)
    response = operator_web.post(f"/images/{image.imagename}/genimage/")
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"

    def job_page() -> str:
        return operator_web.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()

    wait_until(lambda: "postinstall: started" in job_page(), 60, 0.2, message=job_page)
    job.refresh_from_db()
    assert job.status == "running" and job.worker_pid != os.getpid()
    pid_file = image.rootimgdir / "postinstall.pid"
    wait_until(pid_file.exists, 10, message=f"{pid_file} was not written")
    postinstall_pid = int(pid_file.read_text())
    assert jobs.pid_alive(postinstall_pid)

    operator_web.post(f"/jobs/{job.pk}/cancel/")
    wait_until(
        lambda: Job.objects.get(pk=job.pk).is_finished, 30, 0.2, message="the job did not end"
    )
    job.refresh_from_db()
    assert job.status == "cancelled", job.log + job.error
    wait_until(lambda: not jobs.pid_alive(postinstall_pid), 10, message="postinstall still runs")
    image.refresh_from_db()
    assert image.current_version == previous and image.build_job is None
    assert not [p.name for p in image.rootimgdir.iterdir() if p.name.startswith(".build-")]
    assert "cancelled during postinstall" in job.log
