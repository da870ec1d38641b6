from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from images.pack import (
    TMP_PREFIX,
    discard_incomplete,
    pack_image,
    prune_versions,
    sha256_file,
)
from images.proc import StepCancelled

EXLIST = "./usr/share/man*\n+./usr/share/man/man1/ls.1*\n./boot*\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "rootimg"
    for rel, text in {
        "bin/hello": "#!/bin/sh\necho hello\n",
        "etc/hostname": "node01\n",
        "usr/share/man/man1/ls.1.gz": "ls manual",
        "usr/share/man/man1/cp.1.gz": "cp manual",
        "boot/vmlinuz-6.1": "kernel",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "bin/hello").chmod(0o755)
    (root / "bin/sh").symlink_to("busybox")
    return root


@pytest.fixture
def boot_files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "vmlinuz").write_bytes(b"kernel image")
    (tmp_path / "initrd.gz").write_bytes(b"initrd image")
    return {"kernel": tmp_path / "vmlinuz", "initrd": tmp_path / "initrd.gz"}


def archive_listing(version) -> list[str]:
    root = version.root_file
    if version.manifest["method"] == "squashfs":
        out = subprocess.run(["unsquashfs", "-l", "-d", "", root], capture_output=True, text=True)
        return sorted(line for line in out.stdout.splitlines() if line.startswith("/"))
    decompress = {"zstd": "zstd -dc", "xz": "xz -dc"}.get(
        version.manifest["compression"], "gzip -dc"
    )
    out = subprocess.run(
        f"{decompress} {root} | cpio -t --quiet", shell=True, capture_output=True, text=True
    )
    return sorted("/" + line.removeprefix("./") for line in out.stdout.splitlines() if line != ".")


@pytest.mark.parametrize(
    ("method", "compression", "root_name"),
    [
        ("cpio", "zstd", "rootimg.cpio.zst"),
        ("cpio", "gzip", "rootimg.cpio.gz"),
        ("cpio", "pigz", "rootimg.cpio.gz"),
        ("cpio", "xz", "rootimg.cpio.xz"),
        ("squashfs", "zstd", "rootimg.sqfs"),
        ("squashfs", "xz", "rootimg.sqfs"),
    ],
)
def test_pack_applies_the_exlist_and_keeps_the_reinclude(
    tree, boot_files, tmp_path, method, compression, root_name
):
    version = pack_image(
        tree,
        tmp_path / "versions",
        exlist=EXLIST,
        method=method,
        compression=compression,
        **boot_files,
    )
    assert version.manifest["root"] == root_name
    assert archive_listing(version) == [
        "/bin",
        "/bin/hello",
        "/bin/sh",
        "/etc",
        "/etc/hostname",
        "/usr",
        "/usr/share",
        "/usr/share/man",
        "/usr/share/man/man1",
        "/usr/share/man/man1/ls.1.gz",
    ]


def test_manifest_records_size_and_sha256_of_every_artifact(tree, boot_files, tmp_path):
    version = pack_image(tree, tmp_path / "versions", **boot_files)
    manifest = json.loads((version.path / "manifest.json").read_text())
    assert set(manifest["files"]) == {"rootimg.cpio.zst", "kernel", "initrd"}
    for name, info in manifest["files"].items():
        assert info["sha256"] == sha256_file(version.path / name)
        assert info["size"] == (version.path / name).stat().st_size
    assert manifest["rootfmt"] == "cpio.zst"
    assert version.path.name == version.version
    assert (version.path / "kernel").read_bytes() == b"kernel image"


def test_cpio_pack_keeps_modes_and_symlinks(tree, boot_files, tmp_path):
    version = pack_image(tree, tmp_path / "versions", **boot_files)
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run(
        f"zstd -dc {version.root_file} | cpio -idm --quiet", shell=True, cwd=out, check=True
    )
    assert os.stat(out / "bin/hello").st_mode & 0o777 == 0o755
    assert os.readlink(out / "bin/sh") == "busybox"


def test_packing_identical_content_reuses_the_version_untouched(tree, boot_files, tmp_path):
    first = pack_image(tree, tmp_path / "versions", **boot_files)
    before = {p.name: p.stat().st_mtime_ns for p in first.path.iterdir()}
    time.sleep(0.01)
    second = pack_image(tree, tmp_path / "versions", **boot_files)
    assert second.reused and second.version == first.version
    assert {p.name: p.stat().st_mtime_ns for p in first.path.iterdir()} == before
    assert [p.name for p in (tmp_path / "versions").iterdir()] == [first.version]


def test_a_changed_tree_becomes_a_new_version_beside_the_old(tree, boot_files, tmp_path):
    first = pack_image(tree, tmp_path / "versions", **boot_files)
    (tree / "etc/hostname").write_text("node02\n")
    second = pack_image(tree, tmp_path / "versions", **boot_files)
    assert second.version != first.version
    assert first.path.is_dir() and not second.reused


def test_published_version_is_read_only(tree, boot_files, tmp_path):
    version = pack_image(tree, tmp_path / "versions", **boot_files)
    assert version.path.stat().st_mode & 0o222 == 0
    assert all(p.stat().st_mode & 0o222 == 0 for p in version.path.iterdir())


def test_cancelled_pack_publishes_nothing(tree, boot_files, tmp_path):
    with pytest.raises(StepCancelled):
        pack_image(tree, tmp_path / "versions", cancel_check=lambda: True, **boot_files)
    assert list((tmp_path / "versions").iterdir()) == []


def test_unknown_compression_is_refused(tree, boot_files, tmp_path):
    with pytest.raises(ValueError, match="bzip2"):
        pack_image(tree, tmp_path / "versions", compression="bzip2", **boot_files)


def make_versions(tree, boot_files, versions: Path, count: int) -> list[str]:
    ids = []
    for n in range(count):
        (tree / "etc/hostname").write_text(f"node{n}\n")
        ids.append(pack_image(tree, versions, **boot_files).version)
        time.sleep(1.01)  # manifest "created" has one-second resolution
    return ids


def test_prune_keeps_the_newest_and_the_protected_versions(tree, boot_files, tmp_path):
    versions = tmp_path / "versions"
    oldest, middle, newest = make_versions(tree, boot_files, versions, 3)
    removed = prune_versions(versions, keep=1, protect={oldest})
    assert removed == [middle]
    assert sorted(p.name for p in versions.iterdir()) == sorted([oldest, newest])


def test_discard_incomplete_removes_only_temporary_directories(tree, boot_files, tmp_path):
    versions = tmp_path / "versions"
    kept = pack_image(tree, versions, **boot_files).version
    (versions / f"{TMP_PREFIX}abc").mkdir()
    assert discard_incomplete(versions) == [f"{TMP_PREFIX}abc"]
    assert [p.name for p in versions.iterdir()] == [kept]
