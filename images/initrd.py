"""Generate the small stateless initrd every netboot image boots first.

Contents: static busybox (shell, udhcpc, wget, sha256sum, cpio, switch_root), the
kernel modules from images.kernel in load order, ``zstd`` with its shared libraries
(busybox has no zstd decompressor and zstd is the default root format), and the
scripts in ``images/initrd/`` — ``/init`` implements docs/boot-protocol.md.

The archive is written by Python (newc + gzip with fixed timestamps) rather than by
``cpio``: no root needed for the /dev/console node, and the same inputs give the same
bytes, so an unchanged initrd does not create a new image version.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from images.kernel import INITRD_MODULES, KernelBundle, module_load_order, read_module

__all__ = ["TEMPLATES", "NewcWriter", "build_initrd", "shared_libraries"]

TEMPLATES = Path(__file__).with_name("initrd")
HOST_ZSTD = Path("/usr/bin/zstd")
_S_IFDIR, _S_IFREG, _S_IFLNK, _S_IFCHR = 0o040000, 0o100000, 0o120000, 0o020000


@dataclass
class NewcWriter:
    """Writes a cpio "newc" archive: the format the kernel unpacks into its rootfs."""

    out: gzip.GzipFile
    ino: int = 1

    def _entry(
        self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)
    ) -> None:
        encoded = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0]
        self.ino += 1
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out.write(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self.out.write(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str, perm: int = 0o755) -> None:
        self._entry(name, _S_IFDIR | perm)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        self._entry(name, _S_IFREG | perm, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, _S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int, perm: int = 0o600) -> None:
        self._entry(name, _S_IFCHR | perm, rdev=(major, minor))

    def trailer(self) -> None:
        self._entry("TRAILER!!!", 0)


def shared_libraries(binary: Path) -> list[Path]:
    """The shared objects (interpreter included) a dynamic binary loads, from ``ldd``."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [Path(p) for p in re.findall(r"(?:=>\s*)?(/\S+)\s+\(0x", out)]


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class _Tree:
    """Collects entries so directories are emitted once and before their contents."""

    def __init__(self, writer: NewcWriter) -> None:
        self.writer = writer
        self.dirs: set[str] = set()

    def mkdir(self, path: str, perm: int = 0o755) -> None:
        for d in [*_parents(path), path]:
            if d not in self.dirs:
                self.dirs.add(d)
                self.writer.directory(d, perm if d == path else 0o755)

    def file(self, path: str, data: bytes, perm: int = 0o644) -> None:
        for d in _parents(path):
            self.mkdir(d)
        self.writer.file(path, data, perm)


def build_initrd(kernel: KernelBundle, out: Path, *, busybox: Path) -> Path:
    """Write the gzip'd newc initrd for ``kernel`` to ``out`` and return ``out``."""
    modules = module_load_order(kernel.modules_dir, INITRD_MODULES)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz,
    ):
        writer = NewcWriter(gz)
        tree = _Tree(writer)
        for d in ["dev", "proc", "sys", "run", "newroot", "etc/snp", "lib/modules"]:
            tree.mkdir(d)
        tree.mkdir("tmp", 0o1777)
        writer.chardev("dev/console", 5, 1)
        _add_busybox(tree, Path(busybox))
        _add_zstd(tree)
        for module in modules:
            tree.file(f"lib/modules/{module.name.split('.ko')[0]}.ko", read_module(module))
        order = "".join(m.name.split(".ko")[0] + "\n" for m in modules)
        tree.file("etc/snp-modules", order.encode())
        tree.file("init", (TEMPLATES / "init").read_bytes(), 0o755)
        tree.file("etc/udhcpc.script", (TEMPLATES / "udhcpc.script").read_bytes(), 0o755)
        tree.file("etc/snp/report-booted", (TEMPLATES / "report-booted").read_bytes(), 0o755)
        service = (TEMPLATES / "snportal-booted.service").read_bytes()
        tree.file("etc/snp/snportal-booted.service", service)
        writer.trailer()
    os.replace(tmp, out)
    return out


def _add_busybox(tree: _Tree, busybox: Path) -> None:
    tree.file("bin/busybox", busybox.read_bytes(), 0o755)
    applets = subprocess.run(
        [busybox, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in sorted(set(applets) - {"busybox"}):
        tree.writer.symlink(f"bin/{applet}", "busybox")


def _add_zstd(tree: _Tree) -> None:
    """Host zstd with its libraries at the same absolute paths, so the loader finds them."""
    tree.file("bin/zstd", HOST_ZSTD.read_bytes(), 0o755)
    for lib in shared_libraries(HOST_ZSTD):
        tree.file(str(lib).lstrip("/"), lib.resolve().read_bytes(), 0o755)
