"""A tiny root filesystem from Debian's ``busybox-static``: builds in a second, boots in seconds.

It exists so that tests, demos and the lab can exercise the whole genimage → packimage
→ netboot path without a 20 s mmdebstrap. Its ``/sbin/init`` reports ``booted``
through the reporter the initrd leaves in the root (see docs/boot-protocol.md), then
keeps a shell on the console.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from images.builders.base import BuildSpec, CancelCheck, Log, place_synclists, run_postinstall
from images.proc import run_logged

__all__ = ["BUSYBOX_INIT", "build_rootfs", "is_static_elf", "static_busybox"]

HOST_BUSYBOX = Path("/bin/busybox")
PT_INTERP = 3

BUSYBOX_INIT = """#!/bin/sh
# snportal busybox image: PID 1 after the initrd's switch_root.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
# The initrd moved its mounts here; mount them only when booted some other way.
[ -e /proc/self ] || mount -t proc proc /proc
[ -d /sys/class ] || mount -t sysfs sys /sys
[ -e /dev/null ] || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /tmp && mount -t devpts devpts /dev/pts
[ -x /usr/lib/snportal/report-booted ] && /usr/lib/snportal/report-booted
echo "snportal: $(hostname) is up (busybox image)"
# A shell on the console, started again if it exits; PID 1 must never return.
while true; do
    setsid cttyhack sh -l
    sleep 1
done
"""

ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "etc/shadow": "root:*:19000:0:99999:7:::\n",
    "etc/profile": 'export PATH=/sbin:/bin:/usr/sbin:/usr/bin\nexport PS1="$(hostname) # "\n',
    "etc/hosts": "127.0.0.1 localhost\n",
    "etc/fstab": "proc /proc proc defaults 0 0\n",
}


def is_static_elf(path: Path) -> bool:
    """True for an ELF executable with no program interpreter (statically linked)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit ELF only
            return False
        endian = "<" if head[5] == 1 else ">"
        phoff = struct.unpack_from(endian + "Q", head, 32)[0]
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(
        struct.unpack_from(endian + "I", table, i * phentsize)[0] != PT_INTERP for i in range(phnum)
    )


def static_busybox(cache_dir: Path, log: Log = print, cancel_check: CancelCheck = None) -> Path:
    """A statically linked busybox: the host's if it is static, else from busybox-static.

    The .deb is fetched with ``apt-get download`` into ``cache_dir/busybox`` once.
    """
    if HOST_BUSYBOX.is_file() and is_static_elf(HOST_BUSYBOX):
        return HOST_BUSYBOX
    cache = Path(cache_dir) / "busybox"
    cached = cache / "busybox"
    if cached.is_file():
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        run_logged(
            ["apt-get", "download", "busybox-static"], log, cwd=tmp, cancel_check=cancel_check
        )
        deb = next(Path(tmp).glob("busybox-static_*.deb"))
        run_logged(["dpkg-deb", "-x", deb, Path(tmp) / "x"], log, cancel_check=cancel_check)
        shutil.copy2(Path(tmp) / "x/bin/busybox", cached)
    return cached


def _install_applets(tree: Path, busybox: Path) -> int:
    """Symlink every applet where busybox says it lives (``bin/ls``, ``sbin/ip``, …)."""
    listing = subprocess.run(
        [busybox, "--list-full"], capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in listing:
        link = tree / rel
        if link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")
    return len(listing)


def build_rootfs(
    spec: BuildSpec,
    tree: Path,
    log: Log,
    cancel_check: CancelCheck = None,
    *,
    cache_dir: Path | None = None,
) -> None:
    """genimage for busybox: binary, applet links, /etc, /sbin/init, synclists, postinstall.

    ``spec.pkglist`` names nothing here (there is no package manager in the image);
    ``tree`` must not exist yet, a fresh tree per build. ``cache_dir`` keeps a
    downloaded busybox-static between builds (default: beside the tree).
    """
    tree = Path(tree)
    tree.mkdir(parents=True)
    for d in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "root",
        "var/log",
    ]:
        (tree / d).mkdir(parents=True, exist_ok=True)
    (tree / "tmp").chmod(0o1777)
    (tree / "root").chmod(0o700)
    busybox = static_busybox(cache_dir or tree.parent, log, cancel_check)
    shutil.copy2(busybox, tree / "bin/busybox")
    count = _install_applets(tree, tree / "bin/busybox")
    log(f"busybox: {count} applets linked")
    for rel, text in {**ETC_FILES, "etc/hostname": f"{spec.profile}\n"}.items():
        (tree / rel).write_text(text)
    (tree / "etc/shadow").chmod(0o600)
    init = tree / "sbin/init"
    init.unlink()
    init.write_text(BUSYBOX_INIT)
    init.chmod(0o755)
    place_synclists(tree, spec.synclists, log)
    run_postinstall(spec, tree, log, cancel_check)
