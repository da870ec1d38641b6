"""``manage.py runlab``: real BMCs registered as nodes, stopped cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lab.ports import free_base_port
from nodes.models import Node
from nodes.tests.factories import cli
from testsupport.processes import database_url_for_subprocess

pytestmark = pytest.mark.django_db(transaction=True)
BASE_DIR = Path(__file__).resolve().parent.parent


def start_runlab(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "SNPORTAL_LAB_BMC_PASSWORD": "runlab-test-pw",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "runlab",
            "--state-dir",
            str(tmp_path),
            *args,
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = proc.stdout.readline()
    assert "BMC(s) on 127.0.0.1:" in line, (
        line + proc.stdout.read() if proc.poll() is not None else line
    )
    return proc


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    return out


def test_runlab_registers_lab_nodes_that_rpower_can_drive_and_stops_on_sigterm(tmp_path) -> None:
    base = free_base_port(3)
    proc = start_runlab(tmp_path, "--nodes", "3", "--base-port", str(base))
    try:
        nodes = list(Node.objects.order_by("sortkey"))
        assert [(n.name, n.bmc) for n in nodes] == [
            (f"lab0{i}", f"127.0.0.1:{base + i - 1}") for i in (1, 2, 3)
        ]
        assert nodes[0].bmcpassword == "runlab-test-pw" and nodes[0].group_names() == ["lab"]
        out, _ = cli("rpower", "lab", "on")
        assert out.splitlines() == ["lab01: on", "lab02: on", "lab03: on"]
    finally:
        stop(proc)
    assert proc.returncode == 0
    assert (
        subprocess.run(["pgrep", "-f", f"ipmi_sim.*{tmp_path}"], capture_output=True).stdout == b""
    )


def test_runlab_again_re_registers_the_same_nodes_with_new_ports(tmp_path) -> None:
    stop(start_runlab(tmp_path, "--nodes", "2", "--base-port", str(free_base_port(2))))
    cli("chdef", "lab01", "groups=lab,rack7")
    base = free_base_port(2)
    stop(start_runlab(tmp_path, "--nodes", "2", "--base-port", str(base)))
    lab01 = Node.objects.get(name="lab01")
    assert Node.objects.count() == 2 and lab01.bmc == f"127.0.0.1:{base}"
    assert lab01.group_names() == ["lab", "rack7"]
