"""The kernel an image boots, and the few modules its stateless initrd must load.

Debian images carry their kernel package (``linux-image-amd64``), so kernel and modules
come from the built tree and always match. The busybox image has no packages; its
kernel is Debian's, fetched once with ``apt-get download`` into a cache that keeps only
vmlinuz and the initrd's modules (the full package unpacks to ~400 MB).

Debian builds NIC, loop, squashfs and overlay support as modules and ships no
``modules.dep`` (depmod runs at install time), so load order is computed here from
each module's ``depends=`` field and the initrd uses plain ``insmod``.
"""

from __future__ import annotations

import lzma
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from images.builders.base import CancelCheck, Log
from images.proc import run_logged

__all__ = [
    "INITRD_MODULES",
    "KernelBundle",
    "fetch_debian_kernel",
    "kernel_from_tree",
    "module_load_order",
    "read_module",
]

# What the stateless initrd needs: NICs (virtio for qemu, e1000 for the usual emulated
# and many real Intel NICs), loop + squashfs + overlay for the squashfs root format.
INITRD_MODULES = ("virtio_pci", "virtio_net", "e1000", "e1000e", "loop", "squashfs", "overlay")
KERNEL_PACKAGE = "linux-image-amd64"
_DEPENDS = re.compile(rb"(?:^|\0)depends=([^\0]*)\0")


@dataclass(frozen=True)
class KernelBundle:
    """A kernel image and the ``lib/modules/<version>`` directory that matches it."""

    version: str
    vmlinuz: Path
    modules_dir: Path


def _version_key(version: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.-]", version)]


def kernel_from_tree(tree: Path) -> KernelBundle:
    """The newest ``/boot/vmlinuz-*`` of a built tree with its modules directory."""
    tree = Path(tree)
    kernels = sorted(
        (tree / "boot").glob("vmlinuz-*"), key=lambda p: _version_key(p.name[len("vmlinuz-") :])
    )
    if not kernels:
        raise FileNotFoundError(
            f"no /boot/vmlinuz-* in {tree}: "
            f"add the kernel package ({KERNEL_PACKAGE}) to the pkglist"
        )
    version = kernels[-1].name[len("vmlinuz-") :]
    for lib in ("usr/lib/modules", "lib/modules"):
        modules = tree / lib / version
        if modules.is_dir():
            return KernelBundle(version, kernels[-1], modules)
    raise FileNotFoundError(f"kernel {version} has no modules directory in {tree}")


def _module_name(path: Path) -> str:
    return path.name.split(".ko")[0].replace("-", "_")


def _module_index(modules_dir: Path) -> dict[str, Path]:
    return {
        _module_name(p): p for p in modules_dir.rglob("*.ko*") if p.name.endswith((".ko", ".ko.xz"))
    }


def read_module(path: Path) -> bytes:
    """Module bytes, decompressed: busybox insmod cannot load ``.ko.xz``."""
    data = path.read_bytes()
    return lzma.decompress(data) if path.name.endswith(".xz") else data


def module_load_order(modules_dir: Path, wanted: Iterable[str]) -> list[Path]:
    """The wanted modules (those the kernel has) plus dependencies, dependencies first.

    A wanted module missing from this kernel is skipped: it may be built in, or simply
    absent on this architecture; a missing *dependency* is an error.
    """
    index = _module_index(Path(modules_dir))
    order: list[Path] = []
    placed: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in placed:
            return
        if name in chain:
            raise ValueError(f"module dependency cycle: {' -> '.join((*chain, name))}")
        path = index.get(name)
        if path is None:
            raise FileNotFoundError(
                f"module {name} needed by {chain[-1]} not found in {modules_dir}"
            )
        match = _DEPENDS.search(read_module(path))
        for dep in filter(None, (match[1].decode() if match else "").split(",")):
            visit(dep.replace("-", "_"), (*chain, name))
        placed.add(name)
        order.append(path)

    for name in wanted:
        if name.replace("-", "_") in index:
            visit(name.replace("-", "_"), ())
    return order


def _apt_value(args: list[str], pattern: str) -> str:
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    match = re.search(pattern, out, flags=re.MULTILINE)
    if not match:
        raise LookupError(f"{' '.join(args)}: no match for {pattern!r}")
    return match[1]


def fetch_debian_kernel(
    cache_dir: Path, log: Log = print, cancel_check: CancelCheck = None
) -> KernelBundle:
    """Debian's current kernel from this machine's apt sources, cached under ``cache_dir/kernels``.

    The first call downloads and unpacks the versioned package (a few seconds); later
    calls for the same package version only ask apt-cache which version is current.
    """
    package = _apt_value(["apt-cache", "depends", KERNEL_PACKAGE], r"Depends: (linux-image-\S+)")
    version = _apt_value(["apt-cache", "show", "--no-all-versions", package], r"^Version: (\S+)")
    slot = Path(cache_dir) / "kernels" / f"{package}_{version}"
    marker = slot / "complete"
    if marker.exists() and marker.read_text() == _modules_stamp():
        return _cached_bundle(slot)
    log(f"kernel: fetching {package} {version}")
    shutil.rmtree(slot, ignore_errors=True)
    slot.mkdir(parents=True)
    with tempfile.TemporaryDirectory(dir=slot) as tmp:
        run_logged(["apt-get", "download", package], log, cwd=tmp, cancel_check=cancel_check)
        deb = next(Path(tmp).glob(f"{package}_*.deb"))
        run_logged(["dpkg-deb", "-x", deb, Path(tmp) / "x"], log, cancel_check=cancel_check)
        _keep_initrd_parts(kernel_from_tree(Path(tmp) / "x"), slot)
    marker.write_text(_modules_stamp())
    return _cached_bundle(slot)


def _modules_stamp() -> str:
    """Cache validity: a slot made for another module set is rebuilt."""
    return " ".join(INITRD_MODULES) + "\n"


def _keep_initrd_parts(full: KernelBundle, slot: Path) -> None:
    shutil.copy2(full.vmlinuz, slot / "vmlinuz")
    (slot / "version").write_text(full.version + "\n")
    for module in module_load_order(full.modules_dir, INITRD_MODULES):
        target = slot / "modules" / module.relative_to(full.modules_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(module, target)


def _cached_bundle(slot: Path) -> KernelBundle:
    version = (slot / "version").read_text().strip()
    return KernelBundle(version, slot / "vmlinuz", slot / "modules")
