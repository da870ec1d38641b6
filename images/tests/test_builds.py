"""Real genimage + packimage of a busybox image through the job bodies, locks and recovery."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from images import services
from images.models import ImageVersion, OsImage
from images.pack import sha256_file
from images.tests.factories import ACTOR, make_image, make_version
from snportal import jobs
from snportal.models import AuditEvent, Job

pytestmark = pytest.mark.django_db


def build(image: OsImage, kind: str, **options: str) -> Job:
    """Start a build as the CLI does and run its job body in this process."""
    job = services.start_build(image, kind, actor=ACTOR, submit=False, **options)
    jobs.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_busybox_genimage_and_packimage_publish_a_current_version(images_dir: Path) -> None:
    image = make_image(synclists="/etc/motd 0644 <<EOF\nhello\nEOF\n")
    genimage = build(image, "genimage")
    assert genimage.status == "succeeded", genimage.log + genimage.error
    root = images_dir / image.imagename
    assert (root / "rootimg/etc/motd").read_text() == "hello\n"
    assert (root / "kernel").stat().st_size > 1_000_000
    assert not [p for p in root.iterdir() if p.name.startswith((".build-", ".old-"))]
    packimage = build(image, "packimage")
    assert packimage.status == "succeeded", packimage.log + packimage.error
    image.refresh_from_db()
    version = image.current_version
    assert version is not None and image.build_job is None
    manifest = json.loads((version.path / "manifest.json").read_text())
    assert version.files == manifest["files"]
    root_file = version.path / "rootimg.cpio.zst"
    assert version.files["rootimg.cpio.zst"]["sha256"] == sha256_file(root_file)
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"image.genimage", "image.genimage.done", "image.packimage.done"} <= verbs


def test_a_failing_step_names_itself_and_leaves_the_current_version(images_dir: Path) -> None:
    image = make_image(postinstall="#!/bin/sh\necho about to fail\nexit 3\n")
    old = make_version(image)
    OsImage.objects.filter(pk=image.pk).update(current_version=old)
    job = build(image, "genimage")
    assert job.status == "failed"
    assert job.error == (
        "BuildFailed: genimage failed in step 'postinstall' (exit status 3); "
        "the log ends with that step's last lines"
    )
    assert "---- last lines of that step ----\nabout to fail\n" in job.log
    image.refresh_from_db()
    assert image.current_version == old and image.build_job is None and image.tree_built is None
    assert not (image.rootimgdir / "rootimg").exists()
    assert not [p for p in image.rootimgdir.iterdir() if p.name.startswith(".build-")]


def test_a_second_build_of_the_same_image_is_refused_while_one_runs(images_dir: Path) -> None:
    image = make_image()
    first = services.start_build(image, "genimage", actor=ACTOR, submit=False)
    Job.objects.filter(pk=first.pk).update(status="running")
    with pytest.raises(services.BuildError, match=f"genimage job #{first.pk} is running"):
        services.start_build(image, "packimage", actor=ACTOR, submit=False)


def test_a_lock_left_by_a_finished_job_is_taken_over_and_its_trees_removed(
    images_dir: Path,
) -> None:
    image = make_image()
    dead = services.start_build(image, "genimage", actor=ACTOR, submit=False)
    Job.objects.filter(pk=dead.pk).update(status="failed")
    leftover = image.rootimgdir / f".build-{dead.pk}" / "rootimg"
    leftover.mkdir(parents=True)
    (image.versions_dir / ".tmp-x").mkdir(parents=True)
    job = services.start_build(image, "genimage", actor=ACTOR, submit=False)
    assert OsImage.objects.get(pk=image.pk).build_job_id == job.pk
    assert not leftover.parent.exists() and not (image.versions_dir / ".tmp-x").exists()


def test_builds_of_a_killed_worker_are_failed_and_cleaned_on_worker_start(
    images_dir: Path,
) -> None:
    image = make_image()
    job = services.start_build(image, "genimage", actor=ACTOR, submit=False)
    Job.objects.filter(pk=job.pk).update(
        status="running", worker_pid=2**22 + 11, worker_host=socket.gethostname()
    )
    partial = image.rootimgdir / f".build-{job.pk}"
    partial.mkdir(parents=True)
    assert services.recover_interrupted_builds() == [image.imagename]
    job.refresh_from_db()
    assert job.status == "failed" and "interrupted" in job.error
    assert not partial.exists()
    assert OsImage.objects.get(pk=image.pk).build_job is None


def test_packimage_before_any_genimage_is_refused(images_dir: Path) -> None:
    with pytest.raises(services.BuildError, match="no build tree yet: run genimage first"):
        services.start_build(make_image(), "packimage", actor=ACTOR, submit=False)


def test_rollback_makes_an_older_version_current_and_is_audited(images_dir: Path) -> None:
    image = make_image()
    old, new = make_version(image, "1" * 16), make_version(image, "2" * 16)
    OsImage.objects.filter(pk=image.pk).update(current_version=new)
    services.rollback(image, old.version, actor=ACTOR)
    assert OsImage.objects.get(pk=image.pk).current_version == old
    event = AuditEvent.objects.get(verb="image.rollback")
    assert (event.before, event.after) == (
        {"current_version": "2" * 16},
        {"current_version": "1" * 16},
    )


def test_rollback_to_an_unknown_version_lists_the_kept_ones(images_dir: Path) -> None:
    image = make_image()
    make_version(image, "1" * 16)
    with pytest.raises(services.BuildError, match=f"kept: {'1' * 16}"):
        services.rollback(image, "feedface", actor=ACTOR)


def test_only_the_last_n_versions_are_kept_and_never_the_current(
    images_dir: Path, settings: Any
) -> None:
    settings.IMAGE_VERSIONS_KEEP = 2
    image = make_image()
    assert build(image, "genimage").status == "succeeded"
    for compression in ("gzip", "xz", "zstd"):
        job = build(image, "packimage", compression=compression)
        assert job.status == "succeeded", job.log + job.error
    image.refresh_from_db()
    kept = list(ImageVersion.objects.filter(image=image).values_list("compression", flat=True))
    assert sorted(kept) == ["xz", "zstd"]
    assert image.current_version.compression == "zstd"
    on_disk = [p.name for p in image.versions_dir.iterdir()]
    assert sorted(on_disk) == sorted(ImageVersion.objects.values_list("version", flat=True))


def test_a_version_a_node_is_booting_is_never_pruned(images_dir: Path, settings: Any) -> None:
    from nodes.models import Node

    settings.IMAGE_VERSIONS_KEEP = 1
    image = make_image()
    assert build(image, "genimage").status == "succeeded"
    assert build(image, "packimage", compression="gzip").status == "succeeded"
    image.refresh_from_db()
    booting = image.current_version
    Node.objects.create(name="n01", boot_version=booting)
    for compression in ("xz", "zstd"):
        assert build(image, "packimage", compression=compression).status == "succeeded"
    kept = set(ImageVersion.objects.filter(image=image).values_list("compression", flat=True))
    assert kept == {"gzip", "zstd"}
    assert (booting.path / booting.root).exists()


@pytest.mark.django_db(transaction=True)
def test_the_cli_runs_genimage_in_the_foreground_and_prints_its_log(images_dir: Path) -> None:
    """The job body runs in a thread with its own connection: the rows must be committed."""
    image = make_image(postinstall='echo "postinstall says hi"\nexit 4\n')
    out = io.StringIO()
    with pytest.raises(CommandError, match="genimage .*failed.*'postinstall' \\(exit status 4\\)"):
        call_command("genimage", image.imagename, stdout=out, stderr=io.StringIO())
    assert "postinstall says hi" in out.getvalue()
