"""Real Debian genimage (mmdebstrap, default compute pkglist) + kernel + initrd + packimage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from images.builders.busybox import static_busybox
from images.builders.debian import DEFAULT_COMPUTE_PKGLIST, DEFAULT_EXLIST, build_rootfs
from images.initrd import build_initrd
from images.kernel import kernel_from_tree
from images.lists import parse_pkglist
from images.pack import pack_image
from testsupport.builds import build_spec

pytestmark = pytest.mark.slow
CACHE = Path(__file__).resolve().parents[2] / "var" / "cache"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("debian")
    spec = build_spec(
        "debian12",
        suite="bookworm",
        pkglist=parse_pkglist(DEFAULT_COMPUTE_PKGLIST),
        exlist=DEFAULT_EXLIST,
        synclists=[("/etc/exports", "0644", "/install *(ro,no_root_squash,sync,fsid=13)\n")],
    )
    log: list[str] = []
    build_rootfs(spec, base / "rootimg", log.append)
    kernel = kernel_from_tree(base / "rootimg")
    initrd = build_initrd(kernel, base / "initrd.gz", busybox=static_busybox(CACHE))
    version = pack_image(
        base / "rootimg",
        base / "versions",
        kernel=kernel.vmlinuz,
        initrd=initrd,
        exlist=DEFAULT_EXLIST,
    )
    return base, version


def test_debian_tree_has_systemd_kernel_and_an_empty_machine_id(built):
    base, _ = built
    root = base / "rootimg"
    assert (root / "sbin/init").resolve().name == "systemd"
    assert list((root / "boot").glob("vmlinuz-*"))
    assert (root / "etc/machine-id").read_text() == ""
    assert not (root / "usr/share/man/man1").exists()  # dpkg path-exclude from the exlist


def test_debian_pack_drops_boot_and_stays_small(built):
    _, version = built
    files = version.manifest["files"]
    assert files["rootimg.cpio.zst"]["size"] < 150_000_000
    assert 5_000_000 < files["kernel"]["size"] < 15_000_000
    assert files["initrd"]["size"] < 10_000_000
    listing = subprocess.run(
        f"zstd -dc {version.root_file} | cpio -t --quiet",
        shell=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert "etc/exports" in listing
    assert not [p for p in listing if p.startswith("boot/")]
