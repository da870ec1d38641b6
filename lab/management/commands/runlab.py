"""``manage.py runlab --nodes N``: simulated BMCs on 127.0.0.1, registered as nodes lab01….

It uses the product as a customer would: the BMCs are real IPMI 2.0 endpoints
(:mod:`lab.bmcsim`) and the nodes are defined through the same service as ``mkdef``.
Running it again re-registers the same names with the new ports (idempotent); it runs in
the foreground until SIGTERM or SIGINT and then stops every process it started.

``runlab --hierarchy`` (root only) starts the service-node topology of
:mod:`lab.hierarchy` instead: service nodes ``sn01…`` (group ``service``) whose compute nodes
``c01…`` (group ``compute``, ``servicenode=sn01``) live on a bridge inside a private network
namespace, reachable only through their service node. docs/hierarchy.md, "Lab topology".
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lab import vm
from lab.bmcsim import DEFAULT_PASSWORD, Lab
from lab.hierarchy import HierarchyLab
from lab.netns import NotRoot
from lab.ports import free_base_port
from nodes import dhcp, services
from snportal import audit


class Command(BaseCommand):
    help = "Start N simulated IPMI BMCs and register them as nodes lab01…labNN in group lab."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--nodes", type=int, default=2, help="how many BMCs (default 2)")
        parser.add_argument("--base-port", type=int, default=16000, help="first UDP port")
        parser.add_argument(
            "--state-dir", default=str(Path(settings.VAR_DIR) / "lab"), help="chassis state"
        )
        parser.add_argument(
            "--qemu",
            action="store_true",
            help="back each BMC with a qemu VM that netboots through iPXE (SOL = its serial)",
        )
        parser.add_argument("--sol-base-port", type=int, default=17000, help="first serial port")
        parser.add_argument("--memory", type=int, default=1024, help="MiB per qemu node")
        parser.add_argument(
            "--portal",
            default=os.environ.get("SNPORTAL_WEB_ADDR", "127.0.0.1:8000"),
            help="host:port of the portal on this machine (the VMs reach it via guestfwd)",
        )
        parser.add_argument(
            "--hierarchy",
            action="store_true",
            help="service nodes sn01… serving compute nodes c01… on a bridge in a private "
            "network namespace (needs root); --nodes is then compute nodes per service node",
        )
        parser.add_argument(
            "--service-nodes", type=int, default=1, help="with --hierarchy (default 1)"
        )
        parser.add_argument(
            "--sn-memory", type=int, default=2048, help="MiB per service-node VM (--hierarchy)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["nodes"]
        if not 1 <= n <= 9999:
            raise CommandError("--nodes must be from 1 to 9999")
        password = os.environ.get("SNPORTAL_LAB_BMC_PASSWORD", DEFAULT_PASSWORD)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        if options["hierarchy"]:
            self._hierarchy(options, password, stop)
            return
        qemu = options["qemu"]
        hook = f"{sys.executable} {vm.__file__} {{dir}} {{verb}}" if qemu else None
        with Lab(options["state_dir"], hook=hook) as lab:
            try:
                bmcs = lab.start(
                    n,
                    options["base_port"],
                    password,
                    sol_base_port=options["sol_base_port"] if qemu else None,
                )
            except (RuntimeError, ValueError) as e:
                raise CommandError(f"lab: {e}") from None
            if qemu:
                accel = self._configure_vms(lab, bmcs, options)
                self.stdout.write(
                    f"qemu nodes ({accel}, {options['memory']} MiB) netboot from "
                    f"http://{options['portal']} via 10.0.2.100; serial → SOL on ports "
                    f"{bmcs[0].sol_port}-{bmcs[-1].sol_port}"
                )
            register(bmcs)
            first, last = bmcs[0], bmcs[-1]
            self.stdout.write(
                f"{n} BMC(s) on 127.0.0.1:{first.port}-{last.port} (user {first.user}); "
                f"nodes {first.name}..{last.name} in group lab",
            )
            self.stdout.write("try: manage.py rpower lab stat")
            stop.wait()
            self.stdout.write("stopping the lab")

    def _hierarchy(self, options: dict[str, Any], password: str, stop: threading.Event) -> None:
        """The service-node topology; everything it started goes when it stops."""
        state = Path(options["state_dir"]).resolve() / "hierarchy"
        tftp = state / "tftp"
        dhcp.write_tftp_dir(tftp, f"http://{vm.GUEST_PORTAL}")
        n_sn = options["service_nodes"]
        try:
            hlab = HierarchyLab(
                state,
                portal=options["portal"],
                database=database_target(),
                consoles=f"127.0.0.1:{settings.CONSOLES_PORT}",
                tftp_dir=tftp,
                service_nodes=n_sn,
                computes_per_sn=options["nodes"],
                password=password,
                sn_base_port=options["base_port"],
                sn_sol_base_port=options["sol_base_port"],
                console_ports=[free_base_port(1, tcp=True) for _ in range(n_sn)],
                sn_memory_mb=options["sn_memory"],
                compute_memory_mb=options["memory"],
                accel=vm.probe_accel(Path(options["state_dir"]).resolve() / "accel"),
            )
            hlab.start()
        except NotRoot as e:
            raise CommandError(str(e)) from None
        except (RuntimeError, ValueError) as e:
            raise CommandError(f"lab: {e}") from None
        try:
            register_hierarchy(hlab)
            for sn in hlab.service_nodes:
                mine = [c.name for c in hlab.computes if c.servicenode == sn.name]
                self.stdout.write(
                    f"{sn.name}: BMC 127.0.0.1:{sn.bmc.port}, compute NIC {sn.compute_mac} "
                    f"{sn.address} on the lab bridge, consoles via {sn.console_url}; "
                    f"serves {', '.join(mine)}"
                )
            self.stdout.write(
                f"network namespace {hlab.netns.name if hlab.netns else '?'}: compute nodes "
                "and their BMCs are reachable only through their service node"
            )
            self.stdout.write(
                "try: manage.py rinstall sn01 osimage=debian12-x86_64-netboot-service, "
                "then rinstall c01 osimage=busybox-x86_64-netboot-compute"
            )
            stop.wait()
            self.stdout.write("stopping the lab")
        finally:
            hlab.stop()

    def _configure_vms(self, lab: Lab, bmcs: list[Any], options: dict[str, Any]) -> str:
        """Write each node's VM settings and the lab's TFTP directory (iPXE chain script)."""
        state = Path(options["state_dir"]).resolve()
        tftp = state / "tftp"
        dhcp.write_tftp_dir(tftp, f"http://{vm.GUEST_PORTAL}")
        accel = vm.probe_accel(state / "accel")
        for b in bmcs:
            vm.configure(
                lab.node_dir(b.name),
                vm.VmConfig(
                    name=b.name,
                    mac=b.mac,
                    serial_port=b.sol_port,
                    portal=options["portal"],
                    tftp_dir=str(tftp),
                    memory_mb=options["memory"],
                    accel=accel,
                ),
            )
        return accel


def register(bmcs: list[Any]) -> None:
    """Define (or redefine) one node per BMC; other attributes of existing nodes stay.

    A node already in group ``lab`` keeps its group list, so groups an operator added
    survive a restart of the lab.
    """
    in_lab = set(services.group_map().get("lab", []))
    changes = []
    for b in bmcs:
        attrs = {
            "bmc": f"{b.host}:{b.port}",
            "bmcusername": b.user,
            "bmcpassword": b.password,
            "mac": b.mac,
            "mgt": "ipmi",
        }
        if b.name not in in_lab:
            attrs["groups"] = "lab"
        changes.append((b.name, attrs))
    services.save_nodes(changes, mode=services.MERGE, actor=audit.cli_actor())


def database_target() -> str:
    """Where a service node's guestfwd 10.0.2.100:5432 relays: TCP or the embedded socket."""
    db = settings.DATABASES["default"]
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    if str(host).startswith("/"):
        return f"unix:{host}/.s.PGSQL.{port}"
    return f"{host}:{port}"


def register_hierarchy(hlab: HierarchyLab) -> None:
    """Define the service nodes (group service, ServiceNode fields) and their compute nodes.

    Service nodes first: a compute node's ``servicenode`` must name a service node.
    """
    from hierarchy.services import get_servicenode

    actor = audit.cli_actor()
    groups = services.group_map()
    changes = []
    for sn in hlab.service_nodes:
        attrs = _bmc_attrs(sn.bmc)
        if sn.name not in groups.get("service", []):
            attrs["groups"] = "service"
        changes.append((sn.name, attrs))
    services.save_nodes(changes, mode=services.MERGE, actor=actor)
    for sn in hlab.service_nodes:
        row = get_servicenode(sn.name)
        row.address, row.compute_mac, row.console_url = sn.address, sn.compute_mac, sn.console_url
        row.save(update_fields=["address", "compute_mac", "console_url"])
    changes = []
    for c in hlab.computes:
        attrs = {**_bmc_attrs(c.bmc), "ip": c.ip, "servicenode": c.servicenode}
        if c.name not in groups.get("compute", []):
            attrs["groups"] = "compute"
        changes.append((c.name, attrs))
    services.save_nodes(changes, mode=services.MERGE, actor=actor)


def _bmc_attrs(b: Any) -> dict[str, str]:
    return {
        "bmc": f"{b.host}:{b.port}",
        "bmcusername": b.user,
        "bmcpassword": b.password,
        "mac": b.mac,
        "mgt": "ipmi",
    }
