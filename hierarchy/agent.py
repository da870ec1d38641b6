"""The service-node agent (``manage.py runservice``): converge, start services, heartbeat.

Runs after :mod:`hierarchy.bootstrap` has enrolled and loaded the env. The order is the
point: dnsmasq is disabled in the image and starts only here, after its configuration for
this node's own compute nodes exists and ``dnsmasq --test`` accepts it, so a rebooting
service node never answers DHCP with a stale or empty view. Converging reads this service
node's nodes in ONE query (a regex on the ``servicenode`` list), so a start costs the same
with 100 or 10,000 nodes in the database (xCAT #5505: an SN restart regenerated every node).

Then the children (the SN's boot web, its django-q2 cluster named after it, its console
server) run under supervision, restarted with backoff when they die, and the heartbeat
(``ServiceNode.heartbeat/version/started/state`` + a ``servicenode`` NOTIFY) goes out every
``SNPORTAL_SN_HEARTBEAT_SECONDS``. Node changes re-converge, debounced to one query per
heartbeat period. SIGTERM stops every child, dnsmasq last.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

import snportal
from hierarchy import dhcp
from hierarchy.models import ServiceNode
from nodes.models import Node
from snportal import events

log = logging.getLogger("hierarchy.agent")

#: A full re-converge at least this often, for changes that send no NOTIFY (chdef mac=…).
RECONVERGE_SECONDS = 60.0


class AgentError(Exception):
    """A start-up step failed; the message says which and how to fix it."""


def own_hosts(servicenode: str) -> list[dhcp.Host]:
    """This service node's nodes (primary or backup) with a MAC: one query, any total."""
    pattern = rf"(^|,)\s*{re.escape(servicenode)}\s*(,|$)"
    rows = (
        Node.objects.filter(servicenode__regex=pattern)
        .exclude(mac="")
        .order_by("sortkey")
        .values_list("name", "mac", "ip")
    )
    return [dhcp.Host(name, mac, ip) for name, mac, ip in rows]


def interface_with_mac(mac: str) -> str:
    """The name of the interface whose MAC is ``mac`` (``ip -j link``: works in a netns)."""
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True, check=True)
    for link in json.loads(out.stdout):
        if link.get("address", "").lower() == mac.lower():
            return link["ifname"]
    raise AgentError(
        f"no network interface has MAC {mac} (SNPORTAL_SN_COMPUTE_MAC): set the service "
        "node's compute_mac to its compute NIC's address"
    )


def ensure_address(interface: str, address: str) -> bool:
    """Add ``address`` (with prefix) to ``interface`` and bring it up; True if it was added."""
    out = subprocess.run(
        ["ip", "-j", "addr", "show", "dev", interface], capture_output=True, text=True, check=True
    )
    present = {
        f"{a['local']}/{a['prefixlen']}"
        for link in json.loads(out.stdout)
        for a in link.get("addr_info", [])
    }
    subprocess.run(["ip", "link", "set", interface, "up"], check=True)
    if address in present:
        return False
    subprocess.run(["ip", "addr", "add", address, "dev", interface], check=True)
    return True


@dataclass
class Child:
    """A supervised process: restarted with doubling backoff when it dies."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    backoff: float = 1.0
    not_before: float = 0.0
    started_at: float = 0.0

    def start(self) -> None:
        log.info("starting %s: %s", self.name, " ".join(self.argv))
        self.process = subprocess.Popen(self.argv, env=os.environ.copy())
        self.started_at = time.monotonic()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def supervise(self, now: float) -> None:
        """Restart if it died: 1 s, 2 s, 4 s … 60 s apart; a minute of uptime resets that."""
        if self.process is None or self.running():
            return
        if not self.not_before:
            ran = now - self.started_at
            self.backoff = 1.0 if ran > 60 else min(self.backoff * 2, 60.0)
            self.not_before = now + self.backoff
            log.warning(
                "%s exited with %s; restarting in %.0f s",
                self.name,
                self.process.returncode,
                self.backoff,
            )
        elif now >= self.not_before:
            self.not_before = 0.0
            self.start()

    def stop(self, timeout: float = 10) -> None:
        if not self.running():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def manage(*args: str) -> list[str]:
    return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]


@dataclass
class Agent:
    """One service node's agent; ``run()`` is the whole life, the steps are testable alone."""

    servicenode: str
    workdir: Path
    address: str
    compute_mac: str
    boot_url: str
    dhcp_range: str = ""
    dnsmasq: bool = True
    heartbeat_seconds: float = 5.0
    children: list[Child] = field(default_factory=list)
    hosts: list[dhcp.Host] = field(default_factory=list)
    interface: str = ""
    started: Any = None
    stopping: bool = False
    warming: threading.Thread | None = None

    @property
    def conf(self) -> Path:
        return self.workdir / "dnsmasq.conf"

    @classmethod
    def from_settings(cls, workdir: Path, *, dnsmasq: bool = True) -> Agent:
        env = os.environ
        return cls(
            servicenode=settings.SERVICE_NODE,
            workdir=workdir,
            address=env.get("SNPORTAL_SN_ADDRESS", ""),
            compute_mac=env.get("SNPORTAL_SN_COMPUTE_MAC", ""),
            boot_url=settings.BOOT_URL,
            dhcp_range=env.get("SNPORTAL_SN_DHCP_RANGE", ""),
            dnsmasq=dnsmasq,
            heartbeat_seconds=float(settings.SN_HEARTBEAT_SECONDS),
        )

    # --- start-up steps --------------------------------------------------------------------

    def check_version(self) -> None:
        """Refuse to serve against a portal of another version (tasks would not match)."""
        portal = os.environ.get("SNPORTAL_PORTAL_VERSION", "")
        if portal != snportal.__version__:
            message = (
                f"version skew: this service node runs snportal {snportal.__version__} but "
                f"the portal runs {portal or '(unknown)'}; rebuild and repack the service "
                f"image, then nodeset {self.servicenode} and reboot it"
            )
            self.set_state(f"refused: {message}")
            raise AgentError(message)

    def converge(self) -> list[dhcp.Host]:
        """Read this node's compute nodes (one query) and keep them."""
        self.hosts = own_hosts(self.servicenode)
        return self.hosts

    def write_config(self) -> bool:
        """Host files and dnsmasq.conf; validated by ``dnsmasq --test``. True if HUP is due."""
        if not (self.address and self.compute_mac):
            raise AgentError(
                "SNPORTAL_SN_ADDRESS and SNPORTAL_SN_COMPUTE_MAC must be set (the service "
                "node's address and compute_mac, sent at enrolment)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        closed = [p for p in self.workdir.parents if not p.stat().st_mode & 0o001]
        if closed:
            # dnsmasq reads hosts and TFTP files after dropping privileges to nobody.
            raise AgentError(
                f"--workdir {self.workdir}: {closed[0]} is not world-searchable, so dnsmasq "
                "(running as nobody) could not read its files; use e.g. /run/snportal-dnsmasq"
            )
        self.interface = self.interface or interface_with_mac(self.compute_mac)
        dhcp.copy_ipxe_binaries(self.workdir / "tftp")
        hup = dhcp.write_hosts(self.workdir / "hosts", self.hosts)
        text = dhcp.config(
            servicenode=self.servicenode,
            interface=self.interface,
            address=self.address,
            boot_url=self.boot_url,
            workdir=self.workdir,
            dhcp_range=self.dhcp_range,
            ula=dhcp.ula_for(self.address),
        )
        tmp = self.conf.with_suffix(".new")
        tmp.write_text(text)
        test = subprocess.run(
            ["dnsmasq", "--test", f"--conf-file={tmp}"], capture_output=True, text=True
        )
        if test.returncode != 0:
            raise AgentError(f"dnsmasq rejects the generated configuration: {test.stderr.strip()}")
        changed = not self.conf.exists() or self.conf.read_text() != text
        os.replace(tmp, self.conf)
        return hup or changed

    def configure_network(self) -> None:
        """The compute NIC gets the service node's address and the RA-only ULA."""
        if ensure_address(self.interface, self.address):
            log.info("added %s to %s", self.address, self.interface)
        ensure_address(self.interface, str(dhcp.ula_for(self.address)))

    def start_dhcp(self) -> Child:
        """Start dnsmasq — only now, with its configuration in place."""
        if not self.conf.exists():
            raise AgentError("refusing to start dnsmasq before its configuration exists")
        child = Child(
            "dnsmasq",
            ["dnsmasq", "--keep-in-foreground", f"--conf-file={self.conf}", "--log-facility=-"],
        )
        child.start()
        return child

    def child_commands(self) -> list[Child]:
        """The SN's processes: boot web, workers (cluster = this node), console server."""
        from django.core.management import get_commands

        known = get_commands()
        wanted = [
            ("web", "runsnweb"),
            ("workers", "qcluster"),
            ("consoles", "runconsoles"),  # relay_only with SNPORTAL_ROLE=service
            ("syslog", "runsyslogfwd"),  # this node's journal → the portal (SyslogLine)
        ]
        return [Child(name, manage(cmd)) for name, cmd in wanted if cmd in known]

    # --- liveness --------------------------------------------------------------------------

    def set_state(self, state: str, *, beat: bool = False) -> None:
        fields: dict[str, Any] = {"state": state[:200], "version": snportal.__version__}
        if beat:
            fields["heartbeat"] = timezone.now()
        if self.started is not None:
            fields["started"] = self.started
        ServiceNode.objects.filter(node__name=self.servicenode).update(**fields)
        events.publish("servicenode", servicenode=self.servicenode, state=state[:200])

    def heartbeat(self) -> None:
        down = [c.name for c in self.children if not c.running()]
        state = f"serving {len(self.hosts)} node(s)" + (
            f"; restarting {', '.join(down)}" if down else ""
        )
        self.set_state(state, beat=True)

    # --- the whole life --------------------------------------------------------------------

    def run(self, listen: Callable[[float], bool] | None = None) -> None:
        """Start everything, then heartbeat until SIGTERM. ``listen(timeout)`` → re-converge?"""
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stopping", True))
        self.check_version()
        self.started = timezone.now()
        self.converge()
        if self.dnsmasq:
            self.write_config()
            self.configure_network()
            self.children.append(self.start_dhcp())
        for child in self.child_commands():
            child.start()
            self.children.append(child)
        self.heartbeat()
        self.warm_cache()
        last_converge = time.monotonic()
        dirty = False
        try:
            while not self.stopping:
                if listen is not None:
                    dirty = listen(self.heartbeat_seconds) or dirty
                else:
                    time.sleep(self.heartbeat_seconds)
                now = time.monotonic()
                for child in self.children:
                    child.supervise(now)
                close_old_connections()
                if dirty or now - last_converge > RECONVERGE_SECONDS:
                    self.reconverge()
                    dirty, last_converge = False, now
                self.heartbeat()
        finally:
            self.stop()

    def warm_cache(self) -> None:
        """Pull the image versions this node's compute nodes boot, in the background.

        A boot storm's first node then finds its files here; the heartbeat loop never
        waits for a download (a large root image takes a while over the management net).
        """
        if self.warming is not None and self.warming.is_alive():
            return

        def warm() -> None:
            from hierarchy import cache

            try:
                failed = {v: e for v, e in cache.warm(cache.versions_in_use()).items() if e}
                for version, error in failed.items():
                    log.warning("cache warm-up of image version %s: %s", version, error)
            except Exception:
                log.exception("cache warm-up failed")
            finally:
                connection.close()

        self.warming = threading.Thread(target=warm, name="cache-warm", daemon=True)
        self.warming.start()

    def reconverge(self) -> None:
        before = self.hosts
        self.converge()
        self.warm_cache()
        if not self.dnsmasq:
            return
        if self.write_config() and self.hosts != before:
            dnsmasq = next((c for c in self.children if c.name == "dnsmasq"), None)
            if dnsmasq is not None and dnsmasq.running():
                assert dnsmasq.process is not None
                dnsmasq.process.send_signal(signal.SIGHUP)
                log.info("dnsmasq reloaded: %d node(s)", len(self.hosts))

    def stop(self) -> None:
        """Children first (they use dnsmasq's leases and the database), dnsmasq last."""
        for child in sorted(self.children, key=lambda c: c.name == "dnsmasq"):
            child.stop()
        try:
            self.set_state("stopped")
        except Exception:
            log.warning("could not record the stop")
        connection.close()


def listener(agent: Agent) -> Callable[[float], bool]:
    """A LISTEN on the event channel; the callable waits and says if a re-converge is due.

    Due when a node payload names one of this agent's nodes or carries ``servicenode`` (it
    may have become this node's), or a ``servicenode`` payload says more than a heartbeat
    (snmove). Heartbeats of other service nodes are ignored.
    """
    import psycopg

    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    conn = psycopg.connect(**params, autocommit=True)
    conn.execute(f"LISTEN {events.CHANNEL}")

    def wait(timeout: float) -> bool:
        due = False
        mine = {h.name for h in agent.hosts}
        for note in conn.notifies(timeout=timeout):
            try:
                payload = json.loads(note.payload)
            except ValueError:
                continue
            topic = payload.get("topic")
            if topic == "servicenode":
                due = due or bool(set(payload) - {"topic", "servicenode", "state"})
            elif topic == "node":
                due = due or "servicenode" in payload or payload.get("node") in mine
        return due

    return wait
