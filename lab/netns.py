"""One private network namespace per lab run: the compute network of the hierarchy lab.

Why a namespace: the compute network (192.168.78.0/24 here) must never be addressed from
the host's own namespace, where those addresses follow the default route off the machine
(research/netlab.md, experiment 5). Everything that speaks on the compute network lives
inside the namespace: the bridge, the taps of the VMs, the compute nodes' simulated BMCs,
the compute VMs themselves. The service-node VM is the exception by design: it runs in the
host namespace (its management NIC is qemu user networking that reaches the portal on
127.0.0.1) and its compute NIC is a tap *opened inside* the namespace from a thread that
``setns()``-ed into it; the descriptor keeps that namespace when passed to qemu.

As a further guard the host namespace gets an ``unreachable`` route for the compute subnet
while the lab runs, so a mistaken packet fails locally instead of leaving the machine.

Django-free (``lab/vm.py`` imports it in the power hook). Needs root.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import secrets
import signal
import struct
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = [
    "BRIDGE",
    "BRIDGE_ADDRESS",
    "COMPUTE_NET",
    "COMPUTE_PREFIX",
    "ULA_ADDRESS",
    "Netns",
    "NotRoot",
    "open_tap",
    "require_root",
]

COMPUTE_NET = "192.168.78.0/24"
COMPUTE_PREFIX = "192.168.78."
BRIDGE = "br0"
BRIDGE_MAC = "02:00:00:78:00:fe"
# The bridge's own address: where the compute nodes' simulated BMCs listen (UDP). Service
# nodes take 192.168.78.1.. on their compute NIC, compute nodes get theirs from them.
BRIDGE_ADDRESS = "192.168.78.254"
# An IPv6 ULA on the bridge, only so that the RA helper can advertise it: iPXE otherwise
# waits ~16 s for router advertisements on every boot (netlab.md gotcha 1).
ULA_ADDRESS = "fd78::fe"
ULA_PREFIX = "fd78::"

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000

T = TypeVar("T")


class NotRoot(PermissionError):
    """The hierarchy lab needs root (network namespaces, bridges, taps)."""


def require_root(what: str = "the hierarchy lab") -> None:
    """Refuse clearly instead of failing half-way with an ``ip`` error."""
    if os.geteuid() != 0:
        raise NotRoot(
            f"{what} needs root: it creates a network namespace, a bridge and taps "
            "(ip netns add …). Run it as root, e.g. sudo make run, or leave "
            "SNPORTAL_LAB_ARGS without --hierarchy for the flat lab on 127.0.0.1."
        )


def _ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that has entered namespace ``name``; return its result.

    Sockets and tap descriptors made there stay in that namespace after the thread ends;
    the calling thread never leaves the host namespace.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    box: dict[str, object] = {}

    def run() -> None:
        try:
            with open(f"/run/netns/{name}") as ns:
                if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {name}: {os.strerror(err)}")
            box["value"] = fn()
        except BaseException as e:  # re-raised in the caller
            box["error"] = e

    thread = threading.Thread(target=run, name=f"netns-{name}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def open_tap(netns: str, tap: str) -> int:
    """Open persistent tap ``tap`` of namespace ``netns``; an inheritable fd for qemu."""

    def opener() -> int:
        fd = os.open("/dev/net/tun", os.O_RDWR)
        try:
            ifr = struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
            fcntl.ioctl(fd, TUNSETIFF, ifr.ljust(40, b"\0"))
        except OSError:
            os.close(fd)
            raise
        os.set_inheritable(fd, True)
        return fd

    return in_netns(netns, opener)


class Netns:
    """A uniquely named namespace with the compute bridge; removed on :meth:`delete`.

    Usage: ``with Netns.create(state_dir) as ns: ns.add_tap("tc01") …``. Deleting kills
    the processes this lab started inside it (by pid) and removes the namespace, which
    takes the bridge and taps with it; the host-side guard route goes too.
    """

    def __init__(self, name: str, state_dir: Path) -> None:
        self.name = name
        self.state_dir = state_dir
        self._procs: list[subprocess.Popen[bytes]] = []
        self._guard = False

    @classmethod
    def create(cls, state_dir: Path, prefix: str = "snplab") -> Netns:
        require_root()
        name = f"{prefix}-{os.getpid()}-{secrets.token_hex(2)}"
        ns = cls(name, Path(state_dir))
        ns.state_dir.mkdir(parents=True, exist_ok=True)
        _ip("netns", "add", name)
        try:
            ns._setup()
        except BaseException:
            ns.delete()
            raise
        return ns

    def __enter__(self) -> Netns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()

    def _setup(self) -> None:
        n = self.name
        _ip("link", "set", "lo", "up", netns=n)
        bridge = ["type", "bridge", "stp_state", "0", "forward_delay", "0"]
        _ip("link", "add", BRIDGE, *bridge, netns=n)
        _ip("link", "set", BRIDGE, "address", BRIDGE_MAC, netns=n)
        _ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE, netns=n)
        _ip("-6", "addr", "add", f"{ULA_ADDRESS}/64", "dev", BRIDGE, "nodad", netns=n)
        _ip("link", "set", BRIDGE, "up", netns=n)
        self._add_guard_route()
        (self.state_dir / "netns").write_text(n + "\n")

    def _add_guard_route(self) -> None:
        """Make the compute subnet unreachable from the host namespace while we run."""
        if "unreachable" in _ip("route", "show", COMPUTE_NET, check=False):
            return  # another lab (or the admin) already guards it
        _ip("route", "add", "unreachable", COMPUTE_NET, "metric", "4095")
        self._guard = True

    def exec_prefix(self) -> list[str]:
        """Prefix a command with this to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def add_tap(self, tap: str) -> str:
        """A persistent tap on the bridge (NO-CARRIER until a VM opens it)."""
        _ip("tuntap", "add", tap, "mode", "tap", "vnet_hdr", netns=self.name)
        _ip("link", "set", tap, "master", BRIDGE, netns=self.name)
        _ip("link", "set", tap, "up", netns=self.name)
        return tap

    def start_ra(self) -> subprocess.Popen[bytes]:
        """Router advertisements for the ULA (no DHCPv4: that is the service node's job)."""
        log = self.state_dir / "ra-dnsmasq.log"
        cmd = [
            *self.exec_prefix(),
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            f"--interface={BRIDGE}",
            "--bind-interfaces",
            "--port=0",
            "--enable-ra",
            f"--dhcp-range={ULA_PREFIX},ra-only",
            f"--pid-file={self.state_dir / 'ra-dnsmasq.pid'}",
            f"--log-facility={log}",
        ]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs.append(proc)
        return proc

    def popen(self, cmd: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a process inside the namespace; :meth:`delete` stops it."""
        proc = subprocess.Popen([*self.exec_prefix(), *cmd], **kwargs)  # type: ignore[call-overload]
        self._procs.append(proc)
        return proc

    def pids(self) -> list[int]:
        """Every process inside the namespace (ours: nothing else can be in it)."""
        out = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]

    def delete(self) -> None:
        """Stop what runs inside, delete the namespace, drop the guard route."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = []
        # Whatever is left was started inside this namespace by this lab (VMs, BMCs).
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _ip("netns", "del", self.name, check=False)
        if self._guard:
            _ip("route", "del", "unreachable", COMPUTE_NET, "metric", "4095", check=False)
            self._guard = False
        (self.state_dir / "netns").unlink(missing_ok=True)
