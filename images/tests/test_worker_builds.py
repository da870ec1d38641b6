"""Builds on a real ``manage.py qcluster``: the live log grows, and Cancel kills the step."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from conftest import database_url_for_subprocess
from images.models import OsImage
from images.tests.factories import make_image, make_version
from snportal.models import Job

pytestmark = [pytest.mark.qcluster, pytest.mark.django_db(transaction=True)]
BASE = Path(__file__).resolve().parents[2]

# A postinstall that says something, records its pid, then stays silent for long.
SLOW_POSTINSTALL = """#!/bin/sh
echo "postinstall: started"
echo $$ > "$IMG_ROOTIMGDIR/../postinstall.pid"
sleep 300
"""


@pytest.fixture
def worker(images_dir: Path) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "SNPORTAL_WORKERS": "1",
        "SNPORTAL_IMAGES_DIR": str(images_dir),
    }
    process = subprocess.Popen(
        [sys.executable, str(BASE / "manage.py"), "qcluster"],
        cwd=BASE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        process.terminate()  # the leader only: qcluster stops its own children
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass  # a failed test may leave a build running: the group kill below ends it
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            pass


def wait_for(predicate: Any, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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

    assert wait_for(lambda: "postinstall: started" in job_page()), job_page()
    job.refresh_from_db()
    assert job.status == "running" and job.worker_pid != os.getpid()
    pid_file = image.rootimgdir / "postinstall.pid"
    assert wait_for(pid_file.exists, timeout=10)
    postinstall_pid = int(pid_file.read_text())
    assert alive(postinstall_pid)

    operator_web.post(f"/jobs/{job.pk}/cancel/")
    assert wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=30)
    job.refresh_from_db()
    assert job.status == "cancelled", job.log + job.error
    assert wait_for(lambda: not alive(postinstall_pid), timeout=10)
    image.refresh_from_db()
    assert image.current_version == previous and image.build_job is None
    assert not [p.name for p in image.rootimgdir.iterdir() if p.name.startswith(".build-")]
    assert "cancelled during postinstall" in job.log
