"""Shared pieces for end-to-end tests: real builds, a qemu lab netbooting from the live
portal, and waiting for node statuses. Nothing here is a fake of our own components."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from images import services as image_services
from images.models import OsImage
from images.tests.factories import ACTOR
from lab import vm
from lab.bmcsim import Lab
from lab.management.commands.runlab import register
from lab.ports import free_base_port
from nodes import dhcp
from nodes.models import Node, NodeEvent
from snportal import jobs
from testsupport.waiting import wait_until


def build(image: OsImage, kind: str) -> None:
    job = image_services.start_build(image, kind, actor=ACTOR, submit=False)
    jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log[-3000:] + job.error


def start_qemu_lab(live_server: Any, tmp_path: Path, memory_mb: int) -> Lab:
    """Two lab BMCs backed by qemu VMs that netboot from the live portal."""
    state = tmp_path / "lab"
    tftp = state / "tftp"
    dhcp.write_tftp_dir(tftp, f"http://{vm.GUEST_PORTAL}")
    portal = live_server.url.removeprefix("http://")
    hook = f"{sys.executable} {vm.__file__} {{dir}} {{verb}}"
    lab = Lab(state, hook=hook)
    base = free_base_port(2)
    bmcs = lab.start(2, base, "lab-e2e-pw", sol_base_port=free_base_port(2, tcp=True))
    accel = vm.probe_accel(state / "accel")
    for b in bmcs:
        vm.configure(
            lab.node_dir(b.name),
            vm.VmConfig(
                b.name, b.mac, b.sol_port, portal, str(tftp), memory_mb=memory_mb, accel=accel
            ),
        )
    register(bmcs)
    return lab


def stop_qemu_lab(lab: Lab) -> None:
    for b in lab.bmcs:
        pid = vm.running_pid(lab.node_dir(b.name))
        if pid:
            os.kill(pid, 9)
    lab.stop()


def wait_for_status(name: str, wanted: set[str], seconds: float) -> Node:
    """The node once its status is one of ``wanted``; else fail with its timeline."""

    def reached() -> Node | None:
        node = Node.objects.get(name=name)
        return node if node.status in wanted else None

    def story() -> str:
        status = Node.objects.get(name=name).status
        events = NodeEvent.objects.filter(node__name=name).order_by("time")
        return f"{name} is {status!r}; timeline: " + "; ".join(
            f"{e.kind}: {e.message}" for e in events
        )

    return wait_until(reached, seconds, 0.5, message=story)
