"""What every root-filesystem builder receives and the steps they share.

A builder turns a BuildSpec into a root tree (genimage). Supported today:

* ``debian`` — Debian via mmdebstrap (bookworm tested). Ubuntu is the same builder with
  another mirror and suite once its keyring is configured; debootstrap-style suites are
  what mmdebstrap speaks.
* ``busybox`` — a tiny root from Debian's ``busybox-static``, for tests and demos.

RHEL-family images (``dnf --installroot``) are not supported yet; a builder for them
plugs into ``images.builders.BUILDERS`` with the same ``build_rootfs`` signature.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from images.lists import validate_synclist_entry
from images.proc import run_logged
from images.treefiles import UnsafeTreePath, write_in_tree

__all__ = [
    "BuildSpec",
    "Log",
    "CancelCheck",
    "default_mirror",
    "place_synclists",
    "run_postinstall",
]

Log = Callable[[str], None]
CancelCheck = Callable[[], bool] | None

FALLBACK_MIRROR = "http://deb.debian.org/debian"


@dataclass
class BuildSpec:
    """Everything genimage needs, already resolved from the osimage definition.

    ``pkglist``/``otherpkgs`` are package names with includes expanded. ``otherpkgdir``
    is a local directory of ``.deb`` files, or an apt source line
    (``deb [trusted=yes] http://repo/ ./``), or empty. ``synclists`` holds
    ``(absolute path, octal mode string, content)``.
    """

    imagename: str
    osvers: str
    osarch: str
    profile: str
    distro_name: str
    mirror: str = FALLBACK_MIRROR
    suite: str = "bookworm"
    pkglist: list[str] = field(default_factory=list)
    otherpkgs: list[str] = field(default_factory=list)
    otherpkgdir: str = ""
    exlist: str = ""
    synclists: list[tuple[str, str, str]] = field(default_factory=list)
    postinstall: str = ""
    addkcmdline: str = ""


def default_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses, so builds hit the same (fast) mirror.

    Reads deb822 ``sources.list.d/*.sources`` first, then one-line ``sources.list``;
    security and updates archives are skipped because mmdebstrap wants the main archive.
    """
    candidates: list[str] = []
    for sources in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        candidates += re.findall(r"^URIs:\s*(\S+)", sources.read_text(), flags=re.MULTILINE)
    for listfile in [
        apt_dir / "sources.list",
        *sorted((apt_dir / "sources.list.d").glob("*.list")),
    ]:
        if listfile.is_file():
            candidates += re.findall(
                r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", listfile.read_text(), flags=re.MULTILINE
            )
    for uri in candidates:
        if uri.startswith(("http://", "https://")) and "security" not in uri:
            return uri.rstrip("/")
    return FALLBACK_MIRROR


def place_synclists(tree: Path, synclists: list[tuple[str, str, str]], log: Log) -> None:
    """Write synclist files into the tree (root-owned, given mode, parents created).

    The build runs as root on the build host, so a path is followed component by
    component without symlinks (:mod:`images.treefiles`): a symlinked ``/etc`` or an
    absolute ``/var/run`` link can never carry a write out of the tree. A refused path
    stops the build with a log line naming the component.
    """
    for path, mode, content in synclists:
        numeric = validate_synclist_entry(path, mode)
        data = content.encode()
        try:
            write_in_tree(tree, path, data, numeric)
        except UnsafeTreePath as exc:
            log(f"synclist: refused {path}: {exc}")
            raise UnsafeTreePath(f"synclist {path}: {exc}") from None
        log(f"synclist: {path} ({mode}, {len(data)} bytes)")


def run_postinstall(spec: BuildSpec, tree: Path, log: Log, cancel_check: CancelCheck) -> None:
    """Run the postinstall script as xCAT does: ``script <rootimg> <osvers> <arch> <profile>``.

    The script runs on the build host (not in the chroot) with the IMG_* variables
    xCAT's genimage exports; a script without ``#!`` is run by /bin/sh.
    """
    if not spec.postinstall.strip():
        return
    with tempfile.TemporaryDirectory(prefix="snp-postinstall-") as tmp:
        script = Path(tmp) / "postinstall"
        script.write_text(spec.postinstall)
        script.chmod(0o700)
        argv = [str(tree), spec.osvers, spec.osarch, spec.profile]
        cmd = (
            [str(script), *argv]
            if spec.postinstall.startswith("#!")
            else ["/bin/sh", str(script), *argv]
        )
        env = {
            **os.environ,
            "IMG_NAME": spec.imagename,
            "IMG_OSVERS": spec.osvers,
            "IMG_ARCH": spec.osarch,
            "IMG_PROFILE": spec.profile,
            "IMG_ROOTIMGDIR": str(tree.parent),
            # xCAT exports it too: the service image's postinstall installs from it.
            "IMG_OTHERPKGDIR": spec.otherpkgdir,
        }
        log("postinstall: running")
        run_logged(cmd, log, env=env, cancel_check=cancel_check, step="postinstall")
