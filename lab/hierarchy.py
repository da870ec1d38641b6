"""The hierarchy lab: service-node VMs that serve compute VMs on a private bridge.

Topology (one run, one network namespace from :mod:`lab.netns`)::

    host namespace                              lab namespace "snplab-<pid>-<rand>"
    ─────────────────────────────────────────   ─────────────────────────────────────────
    portal web, PostgreSQL, console server      bridge br0 192.168.78.254/24, fd78::fe/64
      ▲ 127.0.0.1                                 (RA helper: iPXE needs no 16 s wait)
      │ guestfwd 10.0.2.100:80/5432/8001          compute BMCs: ipmi_sim on
    sn01 BMC (ipmi_sim, 127.0.0.1:<port>)            192.168.78.254:<ports> (UDP)
    sn01 VM (qemu in the host namespace)          c01, c02 VMs (qemu inside), NIC = tap
      NIC1 user net restrict=on (netboots         on br0, netboot from sn01's dnsmasq
           from the portal like any lab node)
      NIC2 tap tsn01 on br0, opened inside  ───►  sn01 = 192.168.78.1 on br0
      hostfwd 127.0.0.1:<port> → its :8001

The portal (management node) reaches the service node's console server through the
hostfwd, and nothing on 192.168.78.0/24 ever: compute nodes' power and consoles go through
their service node. Django-free; ``manage.py runlab --hierarchy`` and the end-to-end test
register the nodes.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import vm
from lab.bmcsim import BmcInfo, Lab
from lab.netns import BRIDGE_ADDRESS, COMPUTE_PREFIX, Netns

__all__ = ["ComputeNode", "HierarchyLab", "ServiceNodeVm"]

SN_CONSOLE_PORT = 8001  # the service node's own console server, inside the VM
# Inside the namespace every port is ours: fixed numbers keep logs readable.
COMPUTE_BMC_BASE_PORT = 16000
COMPUTE_SOL_BASE_PORT = 17000


@dataclass(frozen=True)
class ServiceNodeVm:
    """One service node: its BMC (host side) and what its ServiceNode row should say."""

    bmc: BmcInfo
    address: str  # on the compute bridge, with prefix: 192.168.78.1/24
    compute_mac: str
    console_port: int  # 127.0.0.1 port forwarded to the VM's console server

    @property
    def name(self) -> str:
        return self.bmc.name

    @property
    def console_url(self) -> str:
        return f"ws://127.0.0.1:{self.console_port}"


@dataclass(frozen=True)
class ComputeNode:
    """One compute node: its BMC (inside the namespace), its service node and address."""

    bmc: BmcInfo
    servicenode: str
    ip: str

    @property
    def name(self) -> str:
        return self.bmc.name


def _width(total: int) -> int:
    return max(2, len(str(total)))


class HierarchyLab:
    """Start and stop the namespace, the BMCs and the VM configurations; a context manager.

    ``portal``, ``database`` and ``consoles`` are where the service-node VMs' guestfwds go:
    ``127.0.0.1:<port>`` or ``unix:/path`` (the embedded PostgreSQL's socket).
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        portal: str,
        database: str,
        consoles: str,
        tftp_dir: Path,
        service_nodes: int = 1,
        computes_per_sn: int = 2,
        password: str,
        sn_base_port: int,
        sn_sol_base_port: int,
        console_ports: list[int],
        sn_memory_mb: int = 2048,
        compute_memory_mb: int = 1024,
        accel: str = "tcg",
    ) -> None:
        if not 1 <= service_nodes <= 9 or not 1 <= computes_per_sn <= 99:
            raise ValueError("1 to 9 service nodes with 1 to 99 compute nodes each")
        if len(console_ports) != service_nodes:
            raise ValueError("one console port per service node")
        self.state_dir = Path(state_dir).resolve()
        self.portal, self.database, self.consoles = portal, database, consoles
        self.tftp_dir = tftp_dir
        self.n_sn, self.per_sn = service_nodes, computes_per_sn
        self.password = password
        self.sn_base_port, self.sn_sol_base_port = sn_base_port, sn_sol_base_port
        self.console_ports = console_ports
        self.sn_memory_mb, self.compute_memory_mb = sn_memory_mb, compute_memory_mb
        self.accel = accel
        self.netns: Netns | None = None
        self.sn_lab: Lab | None = None
        self.compute_lab: Lab | None = None
        self.service_nodes: list[ServiceNodeVm] = []
        self.computes: list[ComputeNode] = []

    def __enter__(self) -> HierarchyLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Namespace, RA helper, service-node BMCs + VMs, compute BMCs + VMs (all off)."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.netns = ns = Netns.create(self.state_dir / "netns")
        ns.start_ra()
        hook = f"{sys.executable} {vm.__file__} {{dir}} {{verb}}"
        sn_names = [f"sn{i:0{_width(self.n_sn)}d}" for i in range(1, self.n_sn + 1)]
        self.sn_lab = Lab(self.state_dir / "service", hook=hook)
        sn_bmcs = self.sn_lab.start(
            self.n_sn,
            self.sn_base_port,
            self.password,
            sol_base_port=self.sn_sol_base_port,
            names=sn_names,
            macs=[f"52:54:00:4e:00:{i:02x}" for i in range(1, self.n_sn + 1)],
        )
        for i, bmc in enumerate(sn_bmcs, start=1):
            sn = ServiceNodeVm(
                bmc=bmc,
                address=f"{COMPUTE_PREFIX}{i}/24",
                compute_mac=f"52:54:00:78:00:{i:02x}",
                console_port=self.console_ports[i - 1],
            )
            tap = ns.add_tap(f"tsn{i:02d}")
            self._configure(
                self.sn_lab,
                bmc,
                portal=self.portal,
                tftp_dir=str(self.tftp_dir),
                memory_mb=self.sn_memory_mb,
                guestfwds={"5432": self.database, "8001": self.consoles},
                hostfwds=[f"tcp:127.0.0.1:{sn.console_port}-:{SN_CONSOLE_PORT}"],
                tap=tap,
                tap_netns=ns.name,
                tap_mac=sn.compute_mac,
            )
            self.service_nodes.append(sn)
        total = self.n_sn * self.per_sn
        names = [f"c{j:0{_width(total)}d}" for j in range(1, total + 1)]
        self.compute_lab = Lab(self.state_dir / "compute", hook=hook, netns=ns.name)
        compute_bmcs = self.compute_lab.start(
            total,
            COMPUTE_BMC_BASE_PORT,
            self.password,
            sol_base_port=COMPUTE_SOL_BASE_PORT,
            host=BRIDGE_ADDRESS,
            names=names,
            macs=[f"52:54:00:78:{1 + j // 256:02x}:{j % 256:02x}" for j in range(1, total + 1)],
        )
        for j, bmc in enumerate(compute_bmcs, start=1):
            tap = ns.add_tap(f"tc{j:03d}")
            self._configure(
                self.compute_lab,
                bmc,
                portal="",
                tftp_dir="",
                memory_mb=self.compute_memory_mb,
                user_net=False,
                tap=tap,
            )
            sn = self.service_nodes[(j - 1) // self.per_sn]
            self.computes.append(ComputeNode(bmc, sn.name, f"{COMPUTE_PREFIX}{100 + j}"))

    def _configure(self, lab: Lab, bmc: BmcInfo, **shape: Any) -> None:
        """Write the VM configuration of the node behind ``bmc`` (its power button's VM)."""
        vm.configure(
            lab.node_dir(bmc.name),
            vm.VmConfig(
                name=bmc.name,
                mac=bmc.mac,
                serial_port=bmc.sol_port or 0,
                accel=self.accel,
                **shape,
            ),
        )

    def stop(self) -> None:
        """Power everything off (by pid), stop the BMCs, delete the namespace."""
        for lab in (self.compute_lab, self.sn_lab):
            if lab is None:
                continue
            for bmc in lab.bmcs:
                pid = vm.running_pid(lab.node_dir(bmc.name))
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            lab.stop()
        self.compute_lab = self.sn_lab = None
        if self.netns is not None:
            self.netns.delete()
            self.netns = None
