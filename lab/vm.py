"""qemu-backed lab nodes: what a lab BMC's power button does to a virtual machine.

``chassis_control.sh`` runs the node's ``hook`` in the background on every power change;
for qemu nodes the hook is this file (``python lab/vm.py NODEDIR on|off|reset|softoff``).
It stays Django-free and quick to import because it runs once per power action.

A node directory holds (next to the BMC's ``power``/``boot``/``mac`` files):

    vm.json       how to start this node's VM (written by :func:`configure`)
    qemu.pid      the running VM
    qmp.sock      QMP control socket (power off, reset, ACPI power button)
    qemu.log      qemu's own messages

The VM: ``-accel tcg`` unless :func:`probe_accel` proved KVM works; the node's MAC on a
virtio NIC; user-mode networking with ``restrict=on`` (the guest reaches nothing but what
``guestfwd`` offers), qemu's built-in DHCP and TFTP pointing at the iPXE chain script, and a
``guestfwd`` from ``10.0.2.100:80`` (inside the guest) to the portal on 127.0.0.1 using the
``-cmd:`` form (the ``tcp:`` form serves a single connection and then hangs). The serial
console is a TCP server that the BMC's SOL connects to, ``wait=on`` so the guest does not
start until the BMC listens and no boot output is lost. ``-nographic`` sends firmware and
iPXE text to the serial port too.

The hierarchy lab (``runlab --hierarchy``, :mod:`lab.netns`) adds two shapes:

* a **service node**: the user-net NIC as above plus more ``guestfwd`` ports on 10.0.2.100
  (PostgreSQL, the console server), a ``hostfwd`` to its own console server, and a second
  NIC on the lab bridge whose tap is opened inside the lab's namespace and handed to qemu
  as a descriptor (qemu itself stays in the host namespace, so its relays reach
  127.0.0.1);
* a **compute node**: one NIC, a tap on the bridge, no user networking at all; its BMC
  runs inside the namespace, so this hook and qemu do too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

QEMU = "qemu-system-x86_64"
GUEST_PORTAL = "10.0.2.100"  # the portal as the guest sees it (slirp guestfwd)


@dataclass
class VmConfig:
    """Everything needed to start one node's VM."""

    name: str
    mac: str
    serial_port: int  # 127.0.0.1 TCP port of the serial console (the BMC's SOL connects)
    portal: str  # host:port of the portal's node-facing HTTP service on this machine
    tftp_dir: str  # holds the iPXE chain script qemu's DHCP names as the boot file
    bootfile: str = "chain.ipxe"
    memory_mb: int = 1024
    accel: str = "tcg"
    # Hierarchy lab (empty in the flat lab).
    user_net: bool = True  # False: a compute node on the lab bridge only
    # guest port on 10.0.2.100 → "127.0.0.1:5432" or "unix:/path/.s.PGSQL.5432"
    guestfwds: dict[str, str] = field(default_factory=dict)
    hostfwds: list[str] = field(default_factory=list)  # e.g. "tcp:127.0.0.1:18001-:8001"
    tap: str = ""  # tap on the lab bridge
    tap_netns: str = ""  # open the tap inside this namespace (qemu stays in the host's)
    tap_mac: str = ""  # the tap NIC's MAC when it is a second NIC (service node)

    def save(self, node_dir: Path) -> None:
        (node_dir / "vm.json").write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, node_dir: Path) -> VmConfig:
        return cls(**json.loads((node_dir / "vm.json").read_text()))


def configure(node_dir: Path, config: VmConfig) -> None:
    """Write the node's VM configuration next to its BMC state."""
    node_dir.mkdir(parents=True, exist_ok=True)
    config.save(node_dir)


def relay_command(target: str) -> str:
    """The guestfwd ``-cmd:`` relay to ``host:port`` or ``unix:/path`` on this machine.

    The ``-cmd:`` form spawns one relay per connection; commas would need escaping.
    """
    if target.startswith("unix:"):
        return f"{sys.executable} {Path(__file__).resolve()} relay {target.removeprefix('unix:')}"
    host, _, port = target.rpartition(":")
    return f"{shutil.which('busybox') or 'busybox'} nc {host or '127.0.0.1'} {port}"


def _nics(config: VmConfig, tap_fd: int | None) -> list[str]:
    """-netdev/-device arguments: user net (+ a bridge tap) or, for compute, the tap only."""
    if config.tap and tap_fd is not None:
        tap = f"tap,id=n1,fd={tap_fd}"
    else:
        tap = f"tap,id=n1,ifname={config.tap},script=no,downscript=no"
    if not config.user_net:
        return ["-netdev", tap, "-device", f"virtio-net-pci,netdev=n1,mac={config.mac}"]
    fwds = {"80": config.portal, **config.guestfwds}
    netdev = ",".join(
        [
            "user",
            "id=n0",
            "restrict=on",
            f"hostname={config.name}",
            f"tftp={config.tftp_dir}",
            f"bootfile={config.bootfile}",
            *(f"guestfwd=tcp:{GUEST_PORTAL}:{p}-cmd:{relay_command(t)}" for p, t in fwds.items()),
            *(f"hostfwd={rule}" for rule in config.hostfwds),
        ]
    )
    args = ["-netdev", netdev, "-device", f"virtio-net-pci,netdev=n0,mac={config.mac}"]
    if config.tap:
        # romfile= keeps the second NIC's ROM from offering to boot from it.
        nic = f"virtio-net-pci,netdev=n1,mac={config.tap_mac},romfile="
        args += ["-netdev", tap, "-device", nic]
    return args


def qemu_command(node_dir: Path, config: VmConfig, tap_fd: int | None = None) -> list[str]:
    """The qemu command line for a node (also what tests and docs show)."""
    boot = (node_dir / "boot").read_text().strip() if (node_dir / "boot").exists() else ""
    return [
        QEMU,
        "-name",
        config.name,
        "-accel",
        config.accel,
        "-m",
        str(config.memory_mb),
        "-nographic",
        "-monitor",
        "none",
        "-pidfile",
        str(node_dir / "qemu.pid"),
        "-qmp",
        f"unix:{node_dir / 'qmp.sock'},server=on,wait=off",
        "-serial",
        f"tcp:127.0.0.1:{config.serial_port},server=on,wait=on",
        *_nics(config, tap_fd),
        "-smbios",
        f"type=1,serial={config.name}",
        # A diskless node: "pxe" asks for the network first; anything else leaves the
        # firmware's order (no disk here, so it ends on the network too, like real hardware).
        *(["-boot", "n"] if boot == "pxe" else []),
    ]


def running_pid(node_dir: Path) -> int | None:
    """The pid of the node's qemu if it runs."""
    try:
        pid = int((node_dir / "qemu.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def qmp(node_dir: Path, command: str, timeout: float = 3.0) -> dict:
    """Send one QMP command; replies may interleave with events, so read until a return."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(node_dir / "qmp.sock"))
        reader = sock.makefile("rb")
        json.loads(reader.readline())  # greeting
        for cmd in ("qmp_capabilities", command):
            sock.sendall(json.dumps({"execute": cmd}).encode() + b"\n")
            while True:
                line = reader.readline()
                if not line:
                    return {"error": "QMP connection closed"}
                msg = json.loads(line)
                if "return" in msg or "error" in msg:
                    break
        return msg


def set_power_file(node_dir: Path, on: bool) -> None:
    (node_dir / "power").write_text("1\n" if on else "0\n")


def power_on(node_dir: Path) -> int:
    """Start the VM and wait for it (this process is the hook, already in the background).

    When qemu exits for any reason (guest power-off, kill), the BMC's power file says off.
    """
    if running_pid(node_dir):
        return 0
    config = VmConfig.load(node_dir)
    tap_fd = None
    if config.tap and config.tap_netns:
        # This file runs as a script (the BMC's hook): make the lab package importable.
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from lab.netns import open_tap

        tap_fd = open_tap(config.tap_netns, config.tap)
    with open(node_dir / "qemu.log", "ab") as log:
        proc = subprocess.Popen(
            qemu_command(node_dir, config, tap_fd),
            cwd=node_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(tap_fd,) if tap_fd is not None else (),
        )
        if tap_fd is not None:
            os.close(tap_fd)
        code = proc.wait()
    set_power_file(node_dir, False)
    (node_dir / "qemu.pid").unlink(missing_ok=True)
    return code


def power_off(node_dir: Path) -> None:
    """Pull the plug: QMP quit, or SIGKILL if QMP does not answer."""
    pid = running_pid(node_dir)
    if not pid:
        return
    try:
        qmp(node_dir, "quit")
    except OSError:
        os.kill(pid, signal.SIGKILL)


def reset(node_dir: Path) -> None:
    """Hardware reset; a node that is off stays off (as a BMC's reset does)."""
    if running_pid(node_dir):
        qmp(node_dir, "system_reset")


def soft_off(node_dir: Path) -> None:
    """ACPI power button: the guest decides (a busybox guest ignores it, as on hardware)."""
    if running_pid(node_dir):
        qmp(node_dir, "system_powerdown")


def probe_accel(cache: Path | None = None, timeout: float = 8.0) -> str:
    """``kvm`` only if a VM under KVM really runs firmware at native speed, else ``tcg``.

    These machines expose a PVM ``/dev/kvm`` on which a stock kernel hangs and SeaBIOS takes
    ~12 s instead of ~0.1 s: opening /dev/kvm proves nothing. The probe boots SeaBIOS under
    KVM and waits for its banner on the serial port; the answer is cached.
    """
    if cache and cache.exists():
        return cache.read_text().strip()
    answer = "tcg"
    if os.access("/dev/kvm", os.R_OK | os.W_OK) and not Path("/sys/module/kvm_pvm").exists():
        cmd = [QEMU, "-accel", "kvm", "-m", "64", "-nographic", "-nodefaults", "-serial", "stdio"]
        cmd += ["-monitor", "none", "-net", "none", "-no-reboot"]
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            proc = None
        if proc is not None:
            answer = _wait_for_banner(proc, b"SeaBIOS", timeout)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(answer + "\n")
    return answer


def _wait_for_banner(proc: subprocess.Popen[bytes], marker: bytes, timeout: float) -> str:
    import selectors

    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and marker not in seen:
            if sel.select(timeout=0.2):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
    finally:
        proc.kill()
        proc.wait()
    return "kvm" if marker in seen else "tcg"


def relay(path: str) -> int:
    """Copy stdin/stdout to a Unix socket (guestfwd to the embedded PostgreSQL's socket)."""
    import selectors

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, sock.fileno())
    sel.register(sock.fileno(), selectors.EVENT_READ, 1)
    while True:
        for key, _ in sel.select():
            data = os.read(key.fd, 65536)
            if not data:
                return 0
            out = key.data
            while data:
                data = data[os.write(out, data) :]


VERBS = {"on": power_on, "off": power_off, "reset": reset, "softoff": soft_off}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "relay":
        return relay(argv[2])
    if len(argv) != 3 or argv[2] not in VERBS:
        print(f"usage: {argv[0]} NODEDIR {'|'.join(VERBS)}", file=sys.stderr)
        return 2
    node_dir = Path(argv[1]).resolve()
    result = VERBS[argv[2]](node_dir)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
