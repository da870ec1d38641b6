"""rpower and rsetboot against lab BMCs (real ipmi_sim, real RMCP+), and dead BMCs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from lab.bmcsim import Lab
from lab.ports import free_base_port
from nodes.power.base import Result
from nodes.power.ipmi import BmcTarget, IpmiDriver, rpower, rsetboot

PASSWORD = "power-test-pw"


class DeadBmc:
    """A UDP port on 127.0.0.1 that swallows IPMI: ``answer_ping`` makes it look alive
    to the presence ping (a hung BMC), otherwise it is silent (no ICMP either)."""

    def __init__(self, answer_ping: bool) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer_ping = answer_ping
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(1024)
            except OSError:
                continue
            if self.answer_ping and data[:4] == bytes((6, 0, 0xFF, 6)) and data[8] == 0x80:
                pong = bytes((6, 0, 0xFF, 6, 0, 0, 0x11, 0xBE, 0x40, data[9], 0, 0x10))
                self.sock.sendto(
                    pong + bytes((0, 0, 0x11, 0xBE, 0, 0, 0, 0, 0x81)) + bytes(7), peer
                )

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab")) as lab:
        lab.start(10, free_base_port(10), PASSWORD)
        yield lab


@pytest.fixture
def dead_bmcs() -> Iterator[list[DeadBmc]]:
    made: list[DeadBmc] = []
    yield made
    for bmc in made:
        bmc.close()


def targets(lab: Lab, *names: str) -> list[BmcTarget]:
    return [
        BmcTarget(b.name, b.host, b.port, b.user, b.password)
        for b in lab.bmcs
        if not names or b.name in names
    ]


def values(results: dict[str, Result]) -> dict[str, str]:
    return {name: r.value if r.ok else r.error for name, r in results.items()}


def test_rpower_stat_reads_every_fresh_node_as_off(lab: Lab) -> None:
    results = rpower(targets(lab, "lab01", "lab02"), "stat")
    assert values(results) == {"lab01": "off", "lab02": "off"}


def test_rpower_on_turns_nodes_on(lab: Lab) -> None:
    assert values(rpower(targets(lab, "lab03"), "on")) == {"lab03": "on"}
    assert lab.power("lab03") == "on"
    assert values(rpower(targets(lab, "lab03"), "state")) == {"lab03": "on"}


def test_rpower_off_turns_nodes_off(lab: Lab) -> None:
    rpower(targets(lab, "lab04"), "on")
    assert values(rpower(targets(lab, "lab04"), "off")) == {"lab04": "off"}
    assert lab.power("lab04") == "off"


def test_rpower_boot_powers_an_off_node_on(lab: Lab) -> None:
    rpower(targets(lab, "lab05"), "off")
    assert values(rpower(targets(lab, "lab05"), "boot")) == {"lab05": "off on"}
    assert lab.power("lab05") == "on"


def test_rpower_boot_resets_an_on_node(lab: Lab) -> None:
    rpower(targets(lab, "lab06"), "on")
    assert values(rpower(targets(lab, "lab06"), "boot")) == {"lab06": "on reset"}
    assert lab.power("lab06") == "on"


def test_rsetboot_net_sets_network_boot(lab: Lab) -> None:
    assert values(rsetboot(targets(lab, "lab07"), "net")) == {"lab07": "Network"}
    assert lab.boot("lab07") == "pxe"


def test_rsetboot_hd_sets_disk_boot(lab: Lab) -> None:
    assert values(rsetboot(targets(lab, "lab08"), "hd")) == {"lab08": "Hard Drive"}
    assert lab.boot("lab08") == "default"  # ipmi_sim's word for the disk


def test_rsetboot_stat_reads_back_the_device_that_was_set(lab: Lab) -> None:
    rsetboot(targets(lab, "lab09"), "net")
    assert values(rsetboot(targets(lab, "lab09"), "stat")) == {"lab09": "Network"}


def test_a_wrong_password_says_to_check_the_credentials(lab: Lab) -> None:
    bmc = lab.bmcs[0]
    bad = BmcTarget(bmc.name, bmc.host, bmc.port, bmc.user, "not-the-password")
    assert values(rpower([bad], "stat")) == {
        bmc.name: "wrong BMC credentials: check bmcusername/bmcpassword"
    }


def test_a_closed_port_is_reported_unreachable_at_once() -> None:
    port = free_base_port(1)
    start = time.monotonic()
    results = rpower([BmcTarget("gone", "127.0.0.1", port, "admin", "x")], "stat")
    assert time.monotonic() - start < 1.0
    assert results["gone"].error == (
        f"BMC unreachable at 127.0.0.1:{port} (port closed): check the address and network"
    )


def test_more_bmcs_than_select_can_watch_are_probed_in_one_sweep() -> None:
    port = free_base_port(1)
    many = [BmcTarget(f"n{i}", "127.0.0.1", port, "admin", "x") for i in range(1100)]
    start = time.monotonic()
    results = rpower(many, "stat")
    assert time.monotonic() - start < 3.0
    assert all("(port closed)" in r.error for r in results.values())


def stat_of_a_dead_bmc(
    dead_bmcs: list[DeadBmc], *, answer_ping: bool, **options: float
) -> tuple[float, str]:
    """``rpower stat`` against one BMC that never answers IPMI: (seconds taken, error)."""
    dead_bmcs.append(DeadBmc(answer_ping=answer_ping))
    target = BmcTarget("dead", "127.0.0.1", dead_bmcs[0].port, "admin", "x")
    start = time.monotonic()
    results = rpower([target], "stat", **options)
    return time.monotonic() - start, results["dead"].error


def test_a_silent_bmc_is_reported_unreachable_after_the_probe_timeout(
    dead_bmcs: list[DeadBmc],
) -> None:
    seconds, error = stat_of_a_dead_bmc(dead_bmcs, answer_ping=False, probe_timeout=1.0)
    assert 0.9 < seconds < 2.0
    assert "BMC unreachable at" in error and "no answer within 1 s" in error


def test_a_bmc_that_hangs_after_the_ping_times_out_at_the_deadline(
    dead_bmcs: list[DeadBmc],
) -> None:
    seconds, error = stat_of_a_dead_bmc(dead_bmcs, answer_ping=True, deadline=1.5)
    assert seconds < 2.5
    assert error.startswith("timed out after 1.5 s")


def test_ten_bmcs_with_two_silent_finish_in_about_one_timeout(
    lab: Lab, dead_bmcs: list[DeadBmc]
) -> None:
    dead_bmcs += [DeadBmc(answer_ping=False), DeadBmc(answer_ping=False)]
    dead = [
        BmcTarget(f"dead{i}", "127.0.0.1", d.port, "admin", "x") for i, d in enumerate(dead_bmcs)
    ]
    start = time.monotonic()
    results = rpower(targets(lab)[:8] + dead, "stat", probe_timeout=2.0, deadline=2.0)
    elapsed = time.monotonic() - start
    assert sum(r.ok for r in results.values()) == 8
    assert elapsed < 3.0  # one timeout (2 s) plus the work, not 2 × 2 s


def test_hung_bmcs_do_not_hold_back_the_others(lab: Lab, dead_bmcs: list[DeadBmc]) -> None:
    dead_bmcs += [DeadBmc(answer_ping=True), DeadBmc(answer_ping=True)]
    hung = [
        BmcTarget(f"hung{i}", "127.0.0.1", d.port, "admin", "x") for i, d in enumerate(dead_bmcs)
    ]
    start = time.monotonic()
    # two worker slots: both hung BMCs take them first, yet the run ends after one deadline
    results = rpower(hung + targets(lab)[:8], "stat", concurrency=2, deadline=2.0)
    elapsed = time.monotonic() - start
    assert sum(r.ok for r in results.values()) == 8
    assert elapsed < 3.0


def test_results_come_back_in_the_order_of_the_targets(lab: Lab) -> None:
    ts = list(reversed(targets(lab)))
    assert list(rpower(ts, "stat")) == [t.name for t in ts]


def test_two_jobs_on_the_same_bmcs_at_once_both_succeed(lab: Lab) -> None:
    # pyghmi would hand both jobs one shared session, and the first logout would break
    # the second job's commands.
    ts = targets(lab)
    outcomes: list[dict[str, Result]] = []
    jobs = [threading.Thread(target=lambda: outcomes.append(rpower(ts, "stat"))) for _ in "ab"]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert [sum(r.ok for r in o.values()) for o in outcomes] == [10, 10]


def test_fifty_simultaneous_logins_finish_without_pyghmis_keepalive_stall(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # unpatched pyghmi 1.6.19 takes ~24 s here in most rounds (see pyghmi_fixes)
    with Lab(tmp_path_factory.mktemp("lab50")) as lab:
        lab.start(50, free_base_port(50), PASSWORD)
        for _ in range(3):
            drivers: list[IpmiDriver] = []
            logins = [
                threading.Thread(target=lambda t=t, add=drivers.append: add(IpmiDriver(t)))
                for t in targets(lab)
            ]
            start = time.monotonic()
            for login in logins:
                login.start()
            for login in logins:
                login.join()
            elapsed = time.monotonic() - start
            for driver in drivers:
                driver.close()
            assert len(drivers) == 50
            assert elapsed < 3.0


def test_logins_while_dead_bmcs_are_retried_do_not_deadlock(
    tmp_path_factory: pytest.TempPathFactory, dead_bmcs: list[DeadBmc]
) -> None:
    # pyghmi 1.6.19 takes its two global locks in opposite orders on the retry and the
    # send paths; without pyghmi_fixes this hangs within a few rounds.
    from pyghmi.ipmi import command

    dead_bmcs += [DeadBmc(answer_ping=False) for _ in range(20)]
    stop = threading.Event()

    def retry_forever(port: int) -> None:
        while not stop.is_set():
            try:
                command.Command(bmc="127.0.0.1", port=port, userid=b"admin", password=b"x")
            except Exception:  # noqa: S110 - the timeouts are the point
                pass

    for dead in dead_bmcs:
        threading.Thread(target=retry_forever, args=(dead.port,), daemon=True).start()
    try:
        with Lab(tmp_path_factory.mktemp("lab-deadlock")) as lab:
            lab.start(50, free_base_port(50), PASSWORD)
            for _ in range(8):
                drivers: list[IpmiDriver] = []
                logins = [
                    threading.Thread(
                        target=lambda t=t, add=drivers.append: add(IpmiDriver(t)), daemon=True
                    )
                    for t in targets(lab)
                ]
                for login in logins:
                    login.start()
                until = time.monotonic() + 20
                for login in logins:
                    login.join(max(0.01, until - time.monotonic()))
                assert not any(login.is_alive() for login in logins), "pyghmi deadlocked"
                for driver in drivers:
                    driver.close()
    finally:
        stop.set()
