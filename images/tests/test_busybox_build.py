"""Real busybox genimage + initrd + packimage, and a qemu boot through the boot protocol.

The boots use qemu TCG with user networking under ``restrict=on``: the guest reaches
only the test's HTTP server on 127.0.0.1, through guestfwd at 10.0.2.100:80.
"""

from __future__ import annotations

import gzip
import subprocess
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from images.builders.busybox import build_rootfs, static_busybox
from images.initrd import build_initrd
from images.kernel import fetch_debian_kernel
from images.pack import pack_image
from testsupport.builds import build_spec
from testsupport.waiting import wait_until

CACHE = Path(__file__).resolve().parents[2] / "var" / "cache"
BOOT_TIMEOUT = 120


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """One busybox image, built and packed with cpio+zstd and squashfs."""
    base = tmp_path_factory.mktemp("busybox")
    spec = build_spec(
        "busybox",
        synclists=[("/etc/motd", "0644", "hello from snportal\n")],
        postinstall='#!/bin/sh\necho "$2 $3 $4 $IMG_NAME" > "$1/etc/postinstall-ran"\n',
    )
    build_rootfs(spec, base / "rootimg", log=lambda line: None, cache_dir=CACHE)
    kernel = fetch_debian_kernel(CACHE, log=lambda line: None)
    initrd = build_initrd(kernel, base / "initrd.gz", busybox=static_busybox(CACHE))
    versions = {
        method: pack_image(
            base / "rootimg", base / "versions", kernel=kernel.vmlinuz, initrd=initrd, method=method
        )
        for method in ("cpio", "squashfs")
    }
    return base, versions


def cpio_listing(data: bytes) -> list[str]:
    out = subprocess.run(["cpio", "-t", "--quiet"], input=data, capture_output=True, check=True)
    return out.stdout.decode().splitlines()


def test_busybox_root_has_init_busybox_and_applet_links(packed):
    base, _ = packed
    root = base / "rootimg"
    assert (root / "bin/busybox").is_file()
    assert (root / "bin/sh").resolve() == (root / "bin/busybox").resolve() or (
        (root / "bin/sh").readlink() == Path("/bin/busybox")
    )
    assert "report-booted" in (root / "sbin/init").read_text()


def test_synclist_files_and_postinstall_are_applied(packed):
    base, _ = packed
    assert (base / "rootimg/etc/motd").read_text() == "hello from snportal\n"
    assert (base / "rootimg/etc/motd").stat().st_mode & 0o777 == 0o644
    ran = (base / "rootimg/etc/postinstall-ran").read_text()
    assert ran == "busybox x86_64 compute busybox-x86_64-netboot-compute\n"


def test_initrd_is_a_newc_archive_with_init_busybox_zstd_and_modules(packed):
    _, versions = packed
    listing = cpio_listing(gzip.decompress((versions["cpio"].path / "initrd").read_bytes()))
    for entry in ["init", "bin/busybox", "bin/zstd", "dev/console", "lib/modules/virtio_net.ko"]:
        assert entry in listing
    assert listing.index("lib/modules/virtio.ko") < listing.index("lib/modules/virtio_net.ko")


def test_packed_root_image_contains_sbin_init_and_busybox(packed):
    _, versions = packed
    data = subprocess.run(
        ["zstd", "-dc", versions["cpio"].root_file], capture_output=True, check=True
    ).stdout
    listing = cpio_listing(data)
    assert "sbin/init" in listing and "bin/busybox" in listing


class PortalStub(ThreadingHTTPServer):
    """Serves a version directory and records status reports, like the portal would."""

    def __init__(self, directory: Path) -> None:
        self.reports: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", 0), partial(_Handler, directory=str(directory)))


class _Handler(SimpleHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.server.reports.append({k: v[0] for k, v in urllib.parse.parse_qs(body).items()})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def boot(version, *, sha256: str | None = None, until: str, shown: str) -> tuple[list[dict], str]:
    """Boot kernel+initrd with the protocol's command line; stop once ``until`` is reported
    and the console shows ``shown`` (the report comes before the line that follows it)."""
    server = PortalStub(version.path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    manifest = version.manifest
    cmdline = " ".join(
        [
            "console=ttyS0 quiet panic=-1",
            "snp.node=node01 snp.token=t0ken snp.status=http://10.0.2.100/status",
            f"snp.root=http://10.0.2.100/{manifest['root']}",
            f"snp.sha256={sha256 or manifest['files'][manifest['root']]['sha256']}",
            f"snp.rootfmt={manifest['rootfmt']}",
        ]
    )
    netdev = f"user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 {port}"
    qemu = subprocess.Popen(
        [
            "qemu-system-x86_64", "-accel", "tcg", "-m", "512", "-nographic", "-no-reboot",
            "-kernel", version.path / "kernel", "-initrd", version.path / "initrd",
            "-append", cmdline,
            "-netdev", netdev,
            "-device", "virtio-net-pci,netdev=n0,romfile=",
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output = bytearray()
    reader = threading.Thread(target=_drain, args=(qemu.stdout, output), daemon=True)
    reader.start()

    def done() -> bool:
        reported = any(r["status"] == until for r in server.reports)
        return qemu.poll() is not None or (reported and shown.encode() in output)

    try:
        wait_until(
            done,
            BOOT_TIMEOUT,
            0.2,
            message=lambda: (
                f"no {until!r} report and {shown!r} on the console: "
                + output.decode(errors="replace")[-3000:]
            ),
        )
    finally:
        qemu.kill()
        qemu.wait()
        reader.join(timeout=10)
        server.shutdown()
        server.server_close()
    return server.reports, output.decode(errors="replace")


def _drain(stream: Any, into: bytearray) -> None:
    """Collect qemu's console as it comes, so a test can wait for a line instead of a time."""
    for chunk in iter(lambda: stream.read1(4096), b""):
        into.extend(chunk)


def test_busybox_image_netboots_and_reports_each_stage(packed):
    _, versions = packed
    reports, console = boot(versions["cpio"], until="booted", shown="node01 is up")
    assert [r["status"] for r in reports] == ["netbooting", "booting", "booted"], console
    assert all(r["node"] == "node01" and r["token"] == "t0ken" for r in reports)
    assert "node01 is up (busybox image)" in console


def test_squashfs_root_boots_under_a_tmpfs_overlay(packed):
    _, versions = packed
    reports, console = boot(versions["squashfs"], until="booted", shown="node01 is up")
    assert [r["status"] for r in reports] == ["netbooting", "booting", "booted"], console


def test_corrupted_root_image_is_reported_as_checksum_mismatch_and_stops(packed):
    _, versions = packed
    reports, console = boot(
        versions["cpio"], sha256="0" * 64, until="failed", shown="BOOT FAILED on node01"
    )
    assert reports[-1] == {
        "node": "node01",
        "token": "t0ken",
        "status": "failed",
        "reason": "checksum mismatch",
    }
    assert "BOOT FAILED on node01: checksum mismatch" in console
    assert not any(r["status"] == "booting" for r in reports)
