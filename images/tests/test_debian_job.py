"""The seed's workflow for real: copycds debian12, copy the service image, edit, build, pack."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from images import services, wheelhouse
from images.models import OsImage
from images.tests.factories import ACTOR
from snportal import jobs
from snportal.models import Job

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

EXPORTS = "/install *(ro,no_root_squash,sync,fsid=13)\n"


def run_build(image: OsImage, kind: str) -> Job:
    job = services.start_build(image, kind, actor=ACTOR, submit=False)
    jobs.run_job(job.pk)
    job.refresh_from_db()
    print(f"{kind} {image.imagename}: {job.status} in {job.duration:.1f} s")
    return job


def test_a_customised_debian_service_image_builds_and_packs(images_dir: Path) -> None:
    wheelhouse.build_wheelhouse(Path(settings.VAR_DIR).resolve() / "wheelhouse")
    services.copycds("debian12", actor=ACTOR)
    stock = OsImage.objects.get(imagename="debian12-x86_64-netboot-service")
    custom = services.copy(stock, "myservice", actor=ACTOR)
    attrs = services.attrs_of(custom)
    attrs["postinstall"] += 'echo "customised by snportal" > "$1/etc/motd"\n'
    attrs["synclists"] = f"/etc/exports 0644 <<EOF\n{EXPORTS}EOF\n"
    custom = services.save(custom, attrs, actor=ACTOR)

    genimage = run_build(custom, "genimage")
    assert genimage.status == "succeeded", genimage.log[-3000:] + genimage.error
    tree = custom.rootimgdir / "rootimg"
    assert (tree / "etc/motd").read_text() == "customised by snportal\n"
    assert (tree / "etc/exports").read_text() == EXPORTS
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    assert not (wants / "dnsmasq.service").exists()
    assert (tree / "usr/sbin/dnsmasq").exists()
    # No unused Debian initramfs was built, and the real update-initramfs is back.
    assert not list((tree / "boot").glob("initrd.img-*"))
    assert "mkinitramfs" in (tree / "usr/sbin/update-initramfs").read_text()

    packimage = run_build(custom, "packimage")
    assert packimage.status == "succeeded", packimage.log[-3000:] + packimage.error
    custom.refresh_from_db()
    version = custom.current_version
    for name, size, _ in version.file_rows():
        print(f"  {name}: {size / 1e6:.1f} MB")
    assert version.files["rootimg.cpio.zst"]["size"] < 200_000_000
    listing = subprocess.run(
        f"zstd -dc {version.path / version.root} | cpio -t --quiet",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "etc/exports" in listing and "usr/sbin/dnsmasq" in listing
    assert not [p for p in listing if p.startswith("usr/share/man/")]
