"""The lab speaks real IPMI: Debian's ipmitool drives it and the node files agree."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.bmcsim import CHASSIS_CONTROL, Lab, lab_mac, node_name
from lab.ports import free_base_port

PASSWORD = "lab-test-pw"


def ipmitool(port: int, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    cmd = ["ipmitool", "-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", str(port)]
    cmd += ["-U", "admin", "-P", password, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def ipmi_sim_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-x", "ipmi_sim"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab")) as lab:
        lab.start(3, free_base_port(3), PASSWORD)
        yield lab


def test_ipmitool_reads_a_fresh_node_as_off(lab: Lab) -> None:
    r = ipmitool(lab.bmcs[0].port, "power", "status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Chassis Power is off"


def test_ipmitool_power_on_turns_the_node_on_in_its_files(lab: Lab) -> None:
    bmc = lab.bmcs[1]
    assert ipmitool(bmc.port, "power", "on").returncode == 0
    assert lab.power(bmc.name) == "on"
    assert ipmitool(bmc.port, "power", "status").stdout.strip() == "Chassis Power is on"


def test_ipmitool_power_off_turns_the_node_off_in_its_files(lab: Lab) -> None:
    bmc = lab.bmcs[1]
    ipmitool(bmc.port, "power", "on")
    assert ipmitool(bmc.port, "power", "off").returncode == 0
    assert lab.power(bmc.name) == "off"
    assert ipmitool(bmc.port, "power", "status").stdout.strip() == "Chassis Power is off"


def test_ipmitool_chassis_bootdev_pxe_is_stored_for_the_node(lab: Lab) -> None:
    bmc = lab.bmcs[2]
    r = ipmitool(bmc.port, "chassis", "bootdev", "pxe")
    assert "Set Boot Device to pxe" in r.stdout
    assert lab.boot(bmc.name) == "pxe"
    assert "Force PXE" in ipmitool(bmc.port, "chassis", "bootparam", "get", "5").stdout


def test_each_bmc_controls_only_its_own_node(lab: Lab) -> None:
    ipmitool(lab.bmcs[0].port, "power", "off")
    ipmitool(lab.bmcs[2].port, "power", "on")
    assert [lab.power(b.name) for b in (lab.bmcs[0], lab.bmcs[2])] == ["off", "on"]


def test_a_wrong_password_is_refused(lab: Lab) -> None:
    r = ipmitool(lab.bmcs[0].port, "power", "status", password="not-it")
    assert r.returncode != 0


def test_chassis_control_answers_well_under_half_a_second(lab: Lab) -> None:
    node_dir = lab.node_dir(lab.bmcs[0].name)
    start = time.monotonic()
    for _ in range(10):
        out = subprocess.run(
            [str(CHASSIS_CONTROL), str(node_dir), "get", "power", "boot"],
            capture_output=True,
            text=True,
        ).stdout
    assert (time.monotonic() - start) / 10 < 0.05
    assert out.splitlines()[0] in ("power:0", "power:1")


def test_power_changes_reach_the_node_hook_in_order(tmp_path: Path) -> None:
    log = tmp_path / "hook-calls"
    hook = f"sh -c 'echo $0 $1 $(cat boot) >> {log}' {{node}} {{verb}}"
    with Lab(tmp_path / "lab", hook=hook) as lab:
        bmc = lab.start(1, free_base_port(1), PASSWORD)[0]
        ipmitool(bmc.port, "chassis", "bootdev", "pxe")
        for verb in ("on", "reset", "off", "on"):
            ipmitool(bmc.port, "power", verb)
        deadline = time.monotonic() + 5
        while not log.exists() or log.read_text().count("\n") < 4:
            assert time.monotonic() < deadline, "hook did not run"
            time.sleep(0.05)
    assert log.read_text().splitlines() == [
        f"{bmc.name} {verb} pxe" for verb in ("on", "reset", "off", "on")
    ]


def test_bmcs_are_spread_over_processes_of_at_most_per_process(tmp_path: Path) -> None:
    with Lab(tmp_path, per_process=2) as lab:
        bmcs = lab.start(5, free_base_port(5), PASSWORD)
        assert len(lab.pids) == 3
        assert ipmitool(bmcs[4].port, "power", "status").returncode == 0


def test_stop_leaves_no_ipmi_sim_process_behind(tmp_path: Path) -> None:
    lab = Lab(tmp_path, per_process=2)
    lab.start(3, free_base_port(3), PASSWORD)
    pids = set(lab.pids)
    assert pids <= ipmi_sim_pids()
    lab.stop()
    assert not pids & ipmi_sim_pids()
    assert lab.pids == []


def test_a_password_ipmi_sim_cannot_check_is_refused_before_starting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="1 to 19 ASCII characters"):
        Lab(tmp_path).start(1, free_base_port(1), "x" * 20)


def test_node_names_are_zero_padded_to_the_lab_size() -> None:
    assert [node_name(1, 9), node_name(7, 120), node_name(1000, 1000)] == [
        "lab01",
        "lab007",
        "lab1000",
    ]


def test_macs_are_deterministic_per_node_index() -> None:
    assert lab_mac(1) == "52:54:00:00:00:01"
    assert lab_mac(1000) == "52:54:00:00:03:e8"
