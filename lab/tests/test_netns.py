"""The hierarchy lab's namespace: created private, reachable only from inside, gone after.

Real namespaces, bridges and ipmi_sim (these tests run as root, as CI does); nothing here
addresses 192.168.78.x from the host namespace — ipmitool runs inside the namespace.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lab.bmcsim import Lab
from lab.netns import BRIDGE, BRIDGE_ADDRESS, COMPUTE_NET, Netns, open_tap


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False).stdout


def test_the_hierarchy_lab_refuses_to_run_without_root(monkeypatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # this machine runs tests as root
    with pytest.raises(CommandError, match="needs root"):
        call_command("runlab", "--hierarchy")


def test_a_lab_namespace_has_the_compute_bridge_and_is_gone_after(tmp_path: Path) -> None:
    with Netns.create(tmp_path) as ns:
        name = ns.name
        assert f"{BRIDGE_ADDRESS}/24" in ip("-n", name, "addr", "show", BRIDGE)
        assert "unreachable" in ip("route", "show", COMPUTE_NET)
        ns.add_tap("ttest")
        fd = open_tap(name, "ttest")
        os.close(fd)
    assert name not in ip("netns", "list")
    assert "unreachable" not in ip("route", "show", COMPUTE_NET)


def test_compute_bmcs_answer_inside_the_namespace_on_the_bridge_address(tmp_path: Path) -> None:
    with Netns.create(tmp_path / "ns") as ns, Lab(tmp_path / "lab", netns=ns.name) as lab:
        (bmc,) = lab.start(1, 16000, "pw-inside", host=BRIDGE_ADDRESS, names=["c01"])
        status = subprocess.run(
            [*ns.exec_prefix(), "ipmitool", "-I", "lanplus", "-H", bmc.host, "-p", str(bmc.port)]
            + ["-U", "admin", "-P", "pw-inside", "chassis", "power", "status"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert status.stdout.strip() == "Chassis Power is off", status.stderr
