"""iPXE scripts and the kernel command line of the boot protocol (docs/boot-protocol.md).

Pure functions from plain values, so the boot view, ``makedhcp`` and tests share one
source of truth for what a node is told.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")


def normalize_mac(value: str) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from the forms iPXE and operators use (``-``, ``:``, none)."""
    text = value.strip().lower()
    if not _MAC.match(text):
        return None
    digits = re.sub(r"[^0-9a-f]", "", text)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def console_args(serialport: int | None, serialspeed: int | None) -> list[str]:
    """``console=`` arguments: tty0 first, the serial port last (it becomes /dev/console)."""
    if serialport is None:
        return []
    speed = serialspeed or 115200
    return ["console=tty0", f"console=ttyS{serialport},{speed}n8"]


def kernel_cmdline(
    *,
    node: str,
    status_url: str,
    token: str,
    root_url: str,
    sha256: str,
    rootfmt: str,
    mac: str,
    serialport: int | None = None,
    serialspeed: int | None = None,
    addkcmdline: str = "",
) -> str:
    """The kernel command line of a netboot, in the order the boot protocol documents."""
    parts = [
        *console_args(serialport, serialspeed),
        "quiet",
        "panic=-1",
        f"snp.node={node}",
        f"snp.status={status_url}",
        f"snp.token={token}",
        f"snp.root={root_url}",
        f"snp.sha256={sha256}",
        f"snp.rootfmt={rootfmt}",
        f"BOOTIF=01-{mac.replace(':', '-')}",
    ]
    if addkcmdline.strip():
        parts.append(addkcmdline.strip())
    return " ".join(parts)


def netboot_script(*, node: str, image: str, kernel_url: str, initrd_url: str, cmdline: str) -> str:
    return "\n".join(
        [
            "#!ipxe",
            f"echo snportal: netbooting {node} with {image}",
            f"kernel {kernel_url} {cmdline}",
            f"initrd {initrd_url}",
            "boot",
            "",
        ]
    )


def local_boot_script(node: str) -> str:
    return f"#!ipxe\necho snportal: {node} boots from its local disk\nexit\n"


# iPXE builds without POWEROFF_CMD (Debian's among them) answer "poweroff: command not
# found"; a script must not fall through to booting then, so it halts in a sleep loop.
_HALT = "poweroff || goto halt\n:halt\nsleep 3600\ngoto halt\n"


def offline_script(node: str) -> str:
    return f"#!ipxe\necho snportal: {node} is offline (nodeset offline); powering off\n{_HALT}"


def unknown_script(mac: str) -> str:
    """Unknown MAC: say so, then reboot into PXE a minute later, so registering is enough."""
    return (
        "#!ipxe\n"
        f"echo snportal: unknown node with MAC {mac}; recorded for an operator to register\n"
        "sleep 60\n"
        "reboot\n"
    )


def chain_script(boot_url: str) -> str:
    """The TFTP-served script that sends iPXE to the portal with the node's identity."""
    base = boot_url.rstrip("/")
    return (
        "#!ipxe\n"
        f"chain {base}/boot/ipxe?mac=${{net0/mac}}&uuid=${{uuid}}&serial=${{serial}}"
        " || goto failed\n"
        "exit\n"
        ":failed\n"
        f"echo snportal: cannot reach the boot service at {base}; retrying in 10 s\n"
        "sleep 10\n"
        "reboot\n"
    )


def artifact_url(boot_url: str, image: str, version: str, filename: str) -> str:
    base = boot_url.rstrip("/")
    return f"{base}/boot/images/{quote(image)}/{quote(version)}/{quote(filename)}"


def refused_script(node: str, reason: str) -> str:
    """A netboot without a token (docs/security.md): say why on the console, then ask again.

    The node neither halts nor boots: it re-runs PXE every 30 s, so the operator's next
    ``rinstall``/``rpower reset``/``nodeset`` (which opens a boot attempt) is enough and
    nobody has to walk to the console.
    """
    return (
        "#!ipxe\n"
        f"echo snportal: {node} gets no boot token: {reason}\n"
        f"echo snportal: open a boot attempt with rinstall {node} (or rpower {node} reset);"
        " asking again in 30 s\n"
        "sleep 30\n"
        "reboot\n"
    )
