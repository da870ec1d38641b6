"""Simulated BMCs that speak real IPMI 2.0 (RMCP+ lanplus), built on OpenIPMI's ipmi_sim.

The product's IPMI code (pyghmi) and the operators' tools (ipmitool) cannot tell these
from real BMCs, which is the point: tests and benchmarks exercise the real protocol.

Layout under the state directory (default ``var/lab``)::

    sim00/lan.conf sim00/bmc.emu sim00/state/ sim00/ipmi_sim.log   one ipmi_sim process
    nodes/lab01/power nodes/lab01/boot [nodes/lab01/hook]           one node's chassis

One ipmi_sim process holds up to 127 BMCs (one management controller with its own LAN
channel each; IPMB addresses are 7 bits and even, so 127 is the ceiling); by default 32,
see ``DEFAULT_BMCS_PER_PROCESS``. Every BMC
listens on 127.0.0.1 with its own UDP port: ports need no root, let several labs
coexist (distinct base ports) and make "unreachable" a closed port on the same address.
Distinct 127.0.x.y addresses on port 623 work as well (measured, 1,000 BMCs: rpower stat
2.8–3.4 s vs 2.1–3.0 s with ports, same load, no errors either way) but need root.
Power and boot device are handled by ``chassis_control.sh`` (see its header for the
hook that the netboot lab uses to start and stop qemu).

The hierarchy lab (``runlab --hierarchy``) runs the compute nodes' BMCs inside its network
namespace (``netns=``), bound to the lab bridge's address (``host=``): only a service node
on that bridge can reach them, as on a real cluster's management network.

This module is Django-free; ``manage.py runlab`` wraps :class:`Lab`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_BMCS_PER_PROCESS",
    "DEFAULT_PASSWORD",
    "MAX_BMCS_PER_PROCESS",
    "BmcInfo",
    "Lab",
    "lab_mac",
    "node_name",
]

DEFAULT_PASSWORD = "admin-lab"
MAX_BMCS_PER_PROCESS = 127
# ipmi_sim runs chassis_control synchronously in one event loop per process, so requests
# to BMCs of one process queue behind each other; past ~0.5 s of queueing the client
# retransmits and the load snowballs. 1,000 BMCs, rpower on, 48 client threads, 2 cores:
# 127 per process 8.7 s, 32 per process 2.9 s.
DEFAULT_BMCS_PER_PROCESS = 32
CHASSIS_CONTROL = Path(__file__).resolve().with_name("chassis_control.sh")
IPMI_SIM = "ipmi_sim"
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class BmcInfo:
    """How to reach one lab BMC, in the shape of a node's bmc/bmcusername/bmcpassword."""

    name: str
    host: str
    port: int
    user: str
    password: str
    mac: str
    sol_port: int | None = None  # the TCP port this BMC's SOL connects to (the node's serial)


def node_name(index: int, total: int) -> str:
    """``lab01`` … ``labNN``: zero-padded to the width of ``total``, at least 2 digits."""
    return f"lab{index:0{max(2, len(str(total)))}d}"


def lab_mac(index: int) -> str:
    """Deterministic locally administered qemu-style MAC for node ``index`` (1-based)."""
    return "52:54:00:{:02x}:{:02x}:{:02x}".format(*index.to_bytes(3, "big"))


def _mc_address(slot: int) -> int:
    """IPMB address of the ``slot``-th MC in a process: 0x20 (the BMC) first, then 0x02…."""
    if slot == 0:
        return 0x20
    addr = 2 * slot  # 0x02, 0x04, … skipping 0x20, which slot 0 already took
    return addr if addr < 0x20 else addr + 2


def _quote(value: str) -> str:
    """ipmi_sim config strings are double-quoted; refuse what it could not parse."""
    if '"' in value or "\\" in value or "\n" in value:
        raise ValueError(f"unsupported character in ipmi_sim config value {value!r}")
    return f'"{value}"'


class Lab:
    """Start, describe and stop a set of simulated BMCs; a context manager.

    ``hook`` is an optional command template run (in the background, by the chassis
    control program) on every power change: ``{node}``, ``{dir}`` and ``{verb}``
    (on|off|reset|softoff) are substituted, e.g. ``"/usr/lib/lab/vm.sh {dir} {verb}"``.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str] = "var/lab",
        *,
        hook: str | None = None,
        per_process: int = DEFAULT_BMCS_PER_PROCESS,
        netns: str | None = None,
    ) -> None:
        if not 1 <= per_process <= MAX_BMCS_PER_PROCESS:
            raise ValueError(f"per_process must be 1..{MAX_BMCS_PER_PROCESS}")
        self.state_dir = Path(state_dir).resolve()
        self.hook = hook
        self.per_process = per_process
        self.netns = netns  # run ipmi_sim (and so the power hook and qemu) inside it
        self.bmcs: list[BmcInfo] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def node_dir(self, name: str) -> Path:
        """Directory holding one node's chassis state (``power``, ``boot``, ``hook``)."""
        return self.state_dir / "nodes" / name

    def power(self, name: str) -> str:
        """The node's power state as the chassis files say: ``on`` or ``off``."""
        path = self.node_dir(name) / "power"
        return "on" if path.exists() and path.read_text().strip() == "1" else "off"

    def boot(self, name: str) -> str:
        """The boot device word ipmi_sim last stored (``pxe``, ``default`` = disk, …)."""
        path = self.node_dir(name) / "boot"
        return path.read_text().strip() if path.exists() else "none"

    def start(
        self,
        n: int,
        base_port: int = 16000,
        password: str = DEFAULT_PASSWORD,
        sol_base_port: int | None = None,
        *,
        host: str = "127.0.0.1",
        names: list[str] | None = None,
        macs: list[str] | None = None,
    ) -> list[BmcInfo]:
        """Start ``n`` BMCs on 127.0.0.1 ports ``base_port``…; return how to reach them.

        With ``sol_base_port``, BMC *i* bridges SOL to the node serial console that listens
        on TCP ``127.0.0.1:sol_base_port + i`` (a qemu ``-serial tcp:…,server=on`` or a
        scripted fake); ipmi_sim connects as a client, retries every 10 s, and keeps a
        64 KiB history of what the serial port said.

        ``host`` is the address the BMCs bind (inside ``netns`` when set); ``names`` and
        ``macs`` replace ``lab01…`` and :func:`lab_mac` (the hierarchy lab's sn01, c01…).

        Nodes start powered off with no boot override. Raises if a process dies or its
        ports are not bound within a few seconds (e.g. a port already in use).
        """
        if self._procs:
            raise RuntimeError("lab already started")
        if shutil.which(IPMI_SIM) is None:
            raise RuntimeError("ipmi_sim not found: apt-get install openipmi")
        if n < 1 or base_port < 1024 or base_port + n > 65536:
            raise ValueError("need n >= 1 and ports within 1024..65535")
        # IPMI 2.0 allows 20 bytes, but ipmi_sim (2.0.33) rejects every login with a
        # 20-character password: measured, 19 is the longest that works.
        if not 1 <= len(password) <= 19 or not password.isascii():
            raise ValueError("the lab BMC password must be 1 to 19 ASCII characters")
        if (names and len(names) != n) or (macs and len(macs) != n):
            raise ValueError(f"need {n} names and MACs")
        self.bmcs = [
            BmcInfo(
                names[i - 1] if names else node_name(i, n),
                host,
                base_port + i - 1,
                "admin",
                password,
                macs[i - 1] if macs else lab_mac(i),
                sol_base_port + i - 1 if sol_base_port else None,
            )
            for i in range(1, n + 1)
        ]
        for bmc in self.bmcs:
            self._write_node(bmc)
        try:
            for first in range(0, n, self.per_process):
                group = self.bmcs[first : first + self.per_process]
                self._procs.append(self._spawn(first // self.per_process, group))
            self._wait_bound(time.monotonic() + START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return list(self.bmcs)

    def stop(self) -> None:
        """Kill every ipmi_sim process (and hook children in its group) this lab started."""
        for proc in self._procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        for proc in self._procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._procs = []

    @property
    def pids(self) -> list[int]:
        """Process ids of the running ipmi_sim processes."""
        return [p.pid for p in self._procs if p.poll() is None]

    def _write_node(self, bmc: BmcInfo) -> None:
        d = self.node_dir(bmc.name)
        d.mkdir(parents=True, exist_ok=True)
        (d / "power").write_text("0\n")
        (d / "boot").write_text("none\n")
        (d / "mac").write_text(bmc.mac + "\n")
        hook = d / "hook"
        hook.unlink(missing_ok=True)
        if self.hook:
            command = self.hook.format(
                node=shlex.quote(bmc.name), dir=shlex.quote(str(d)), verb='"$1"'
            )
            hook.write_text(f"#!/bin/sh\nexec {command}\n")
            hook.chmod(0o755)

    def _spawn(self, index: int, group: list[BmcInfo]) -> subprocess.Popen[bytes]:
        sim = self.state_dir / f"sim{index:02d}"
        (sim / "state").mkdir(parents=True, exist_ok=True)
        conf = [f"name {_quote(f'lab-sim{index:02d}')}"]
        emu = ["mc_setbmc 0x20"]
        for slot, bmc in enumerate(group):
            mc = _mc_address(slot)
            control = f"{CHASSIS_CONTROL} {self.node_dir(bmc.name)}"
            conf += [
                f"set_working_mc {mc:#04x}",
                "  startlan 1",
                f"    addr {bmc.host} {bmc.port}",
                "    priv_limit admin",
                "    allowed_auths_callback none md2 md5 straight",
                "    allowed_auths_user md5",
                "    allowed_auths_operator md5",
                "    allowed_auths_admin md5",
                f"    guid {index:08x}{slot:08x}{bmc.port:016x}",
                "  endlan",
                f"  chassis_control {_quote(control)}",
                f"  user 2 true {_quote(bmc.user)} {_quote(bmc.password)} admin 10 md5",
            ]
            if bmc.sol_port:
                conf.append(f'  sol "tcp:127.0.0.1:{bmc.sol_port}" 115200 history=65536')
            emu.append(f"mc_add {mc:#04x} 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02")
            emu.append(f"mc_enable {mc:#04x}")
        (sim / "lan.conf").write_text("\n".join(conf) + "\n")
        (sim / "bmc.emu").write_text("\n".join(emu) + "\n")
        with open(sim / "ipmi_sim.log", "wb") as log:
            # Own process group: stop() kills ipmi_sim and any hook it left running.
            prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
            return subprocess.Popen(
                [*prefix, IPMI_SIM, "-c", "lan.conf", "-f", "bmc.emu", "-s", "state", "-n"],
                cwd=sim,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_bound(self, deadline: float) -> None:
        """Wait until every BMC port is bound (read from /proc, no traffic needed)."""
        want = {b.port for b in self.bmcs}
        hosts = {b.host for b in self.bmcs}
        while True:
            bound: set[int] = set()
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"ipmi_sim exited with {proc.returncode}; "
                        f"see {self.state_dir}/sim*/ipmi_sim.log"
                    )
                # The process's own view: inside a namespace, its sockets are only there.
                bound |= _bound_udp_ports(f"/proc/{proc.pid}/net/udp", hosts)
            missing = want - bound
            if not missing:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"lab BMC ports not bound: {sorted(missing)[:10]}")
            time.sleep(0.02)


def _bound_udp_ports(
    table: str = "/proc/net/udp", hosts: set[str] | frozenset[str] = frozenset({"127.0.0.1"})
) -> set[int]:
    """UDP ports bound on ``hosts`` (or any address), from a /proc net table."""
    wanted = {"00000000"} | {socket.inet_aton(h)[::-1].hex().upper() for h in hosts}
    ports: set[int] = set()
    try:
        with open(table) as f:
            next(f)
            for line in f:
                local = line.split()[1]
                addr, port = local.split(":")
                if addr in wanted:
                    ports.add(int(port, 16))
    except FileNotFoundError:  # the process just exited; the caller sees it
        pass
    return ports
