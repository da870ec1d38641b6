"""End to end: a busybox image is built and packed, ``rinstall`` netboots a qemu lab node
through its simulated BMC, and the node reports ``booted`` — real iPXE, real HTTP from the
portal (pytest-django's live server), a real kernel, real status reports with the boot token.

Nothing of ours is faked: the BMC is ipmi_sim speaking IPMI to pyghmi, its power button
starts qemu (lab/vm.py), the VM's firmware PXE-boots under ``restrict=on`` and reaches the
portal only through qemu's guestfwd.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from images.models import OsImage
from images.tests.factories import ACTOR, make_image
from lab.bmcsim import Lab
from nodes.models import NodeEvent, UnknownMac
from tests.labkit import build, start_qemu_lab, stop_qemu_lab, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = "busybox-x86_64-netboot-compute"
BOOT_DEADLINE = 120  # seconds from rinstall to booted (issue 5)


@pytest.fixture
def packed_image(settings: Any, tmp_path: Path) -> OsImage:
    settings.IMAGES_DIR = tmp_path / "images"
    image = make_image(IMAGE)
    build(image, "genimage")
    build(image, "packimage")
    image.refresh_from_db()
    return image


@pytest.fixture
def qemu_lab(live_server: Any, tmp_path: Path):
    lab = start_qemu_lab(live_server, tmp_path, memory_mb=256)
    yield lab
    stop_qemu_lab(lab)


def timeline(name: str) -> list[str]:
    return [e.message for e in NodeEvent.objects.filter(node__name=name).order_by("time", "id")]


def test_rinstall_netboots_a_lab_node_to_booted(packed_image: OsImage, qemu_lab: Lab) -> None:
    started = time.monotonic()
    call_command("rinstall", "lab01", f"osimage={IMAGE}")
    node = wait_for_status("lab01", {"booted", "failed"}, BOOT_DEADLINE)
    elapsed = time.monotonic() - started
    assert node.status == "booted", node.statusdetail
    assert node.currstate == f"netboot {IMAGE}"
    stages = timeline("lab01")
    order = [
        "powering-on (rinstall)",
        f"script served: netboot {IMAGE}",
        "kernel requested",
        "initrd requested",
        "netbooting",
        "root image requested",
        "booting",
        "booted",
    ]
    positions = [next(i for i, m in enumerate(stages) if m.startswith(s)) for s in order]
    assert positions == sorted(positions), stages
    print(f"\nrinstall → booted (busybox, TCG): {elapsed:.1f} s")


def test_a_corrupted_root_image_fails_with_checksum_mismatch(
    packed_image: OsImage, qemu_lab: Lab
) -> None:
    version = packed_image.current_version
    root = version.path / version.root
    root.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with root.open("r+b") as f:
        f.seek(100)
        f.write(b"corrupted!")
    call_command("rinstall", "lab02", f"osimage={IMAGE}")
    node = wait_for_status("lab02", {"booted", "failed"}, BOOT_DEADLINE)
    assert node.status == "failed"
    assert node.statusdetail == "checksum mismatch"


def test_nodeset_refuses_an_image_without_a_packed_version(qemu_lab: Lab, capsys) -> None:
    make_image("busybox-x86_64-netboot-unpacked")
    with pytest.raises(CommandError, match="1 of 1 node"):
        call_command("nodeset", "lab01", "osimage=busybox-x86_64-netboot-unpacked")
    assert "run packimage busybox-x86_64-netboot-unpacked first" in capsys.readouterr().err


def test_an_unknown_mac_is_recorded_and_told_so(client) -> None:
    response = client.get("/boot/ipxe", {"mac": "52-54-00-ff-ee-01", "serial": "SN1"})
    assert response.status_code == 200
    assert b"unknown node with MAC 52:54:00:ff:ee:01" in response.content
    assert UnknownMac.objects.get(mac="52:54:00:ff:ee:01").serial == "SN1"


@pytest.mark.slow
def test_a_debian_compute_image_boots_to_systemd_and_reports_booted(
    settings: Any, tmp_path: Path, live_server: Any
) -> None:
    """Real mmdebstrap build, real Debian kernel and systemd (1 GiB VM): within 180 s."""
    from images.services import copycds

    settings.IMAGES_DIR = tmp_path / "images"
    copycds("debian12", actor=ACTOR)
    image = OsImage.objects.get(imagename="debian12-x86_64-netboot-compute")
    build(image, "genimage")
    build(image, "packimage")
    lab = start_qemu_lab(live_server, tmp_path, memory_mb=1024)
    try:
        started = time.monotonic()
        call_command("rinstall", "lab01", f"osimage={image.imagename}")
        node = wait_for_status("lab01", {"booted", "failed"}, 180)
        elapsed = time.monotonic() - started
        assert node.status == "booted", node.statusdetail
        print(f"\nrinstall → booted (Debian 12 compute, systemd, TCG): {elapsed:.1f} s")
    finally:
        stop_qemu_lab(lab)
