"""packimage: turn a built tree into an immutable, content-addressed image version.

A version directory holds everything one netboot needs (root image, kernel, initrd)
plus ``manifest.json``. It is written under a temporary name beside the versions and
renamed into place only when complete, so a node booting during a pack keeps getting
the old, whole version. The directory name is derived from the artifacts' sha256, so
packing identical content twice yields the same version, and an existing version is
never modified.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from images.lists import pack_paths
from images.proc import run_logged

__all__ = [
    "COMPRESSIONS",
    "METHODS",
    "PackedVersion",
    "discard_incomplete",
    "pack_image",
    "prune_versions",
    "sha256_file",
]

METHODS = ("cpio", "squashfs")
COMPRESSIONS = ("zstd", "pigz", "gzip", "xz")

# Compressor commands for a cpio stream. ``-n`` keeps gzip output free of timestamps
# so that packing the same tree twice gives the same bytes (and the same version).
# xz uses CRC32 because the initrd's busybox unxz handles it cheaply.
_CPIO_COMPRESSORS = {
    "zstd": ("zstd -T0 -q -c", "cpio.zst"),
    "pigz": ("pigz -n -c", "cpio.gz"),
    "gzip": ("gzip -n -c", "cpio.gz"),
    "xz": ("xz -T0 -c --check=crc32", "cpio.xz"),
}
# squashfs compresses inside mksquashfs. zstd level 3 matches the cpio default's speed
# (level 15, mksquashfs's default, takes 13x longer for 12 % less).
_SQUASHFS_COMP = {
    "zstd": ["-comp", "zstd", "-Xcompression-level", "3"],
    "pigz": ["-comp", "gzip"],
    "gzip": ["-comp", "gzip"],
    "xz": ["-comp", "xz"],
}
TMP_PREFIX = ".tmp-"
CHUNK = 1 << 20

Progress = Callable[[str, int | None], None]


@dataclass(frozen=True)
class PackedVersion:
    """A published version: its id, directory and manifest contents."""

    version: str
    path: Path
    manifest: dict
    reused: bool

    @property
    def root_file(self) -> Path:
        return self.path / self.manifest["root"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _root_name(method: str, compression: str) -> str:
    if method == "squashfs":
        return "rootimg.sqfs"
    return "rootimg." + _CPIO_COMPRESSORS[compression][1]


def rootfmt(method: str, compression: str) -> str:
    """The ``snp.rootfmt=`` value the initrd needs to unpack this root image."""
    return "squashfs" if method == "squashfs" else _CPIO_COMPRESSORS[compression][1]


def _archive_cpio(tree: Path, listfile: Path, out: Path, compression: str, **run) -> None:
    compressor = _CPIO_COMPRESSORS[compression][0]
    script = (
        f"set -o pipefail; cpio -o -H newc --null --quiet < {shlex.quote(str(listfile))}"
        f" | {compressor} > {shlex.quote(str(out))}"
    )
    run_logged(["bash", "-c", script], cwd=tree, step=f"cpio | {compressor.split()[0]}", **run)


def _archive_squashfs(tree: Path, paths: set[str], out: Path, compression: str, **run) -> None:
    """mksquashfs with the exlist expressed as exact exclude paths.

    pack_paths keeps the parents of every kept path, so an excluded directory never has
    kept contents and may be excluded whole: only the topmost excluded paths are listed.
    """
    excludes = out.with_suffix(".exclude")
    with open(excludes, "w") as f:
        for rel in _topmost_excluded(tree, paths):
            f.write(rel[2:] + "\n")
    cmd = ["mksquashfs", tree, out, "-noappend", "-no-xattrs", "-quiet", "-no-progress"]
    cmd += [*_SQUASHFS_COMP[compression], "-ef", excludes]
    try:
        run_logged(cmd, step="mksquashfs", **run)
    finally:
        excludes.unlink()


def _topmost_excluded(tree: Path, keep: set[str]) -> list[str]:
    excluded = []
    stack = ["."]
    while stack:
        rel = stack.pop()
        with os.scandir(tree / rel) as it:
            for entry in it:
                child = f"{rel}/{entry.name}"
                if child not in keep:
                    excluded.append(child)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(child)
    return sorted(excluded)


def _hash_files(workdir: Path, names: list[str], progress: Progress) -> dict[str, dict]:
    total = sum((workdir / n).stat().st_size for n in names) or 1
    done = 0
    files = {}
    for name in names:
        size = (workdir / name).stat().st_size
        files[name] = {"size": size, "sha256": sha256_file(workdir / name)}
        done += size
        progress("checksum", done * 100 // total)
    return files


def version_id(files: dict[str, dict]) -> str:
    """Content address of a version: same artifacts, same id."""
    canonical = "".join(f"{n} {files[n]['sha256']}\n" for n in sorted(files))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def pack_image(
    tree: Path,
    versions_dir: Path,
    *,
    kernel: Path,
    initrd: Path,
    exlist: str = "",
    method: str = "cpio",
    compression: str = "zstd",
    log: Callable[[str], None] = lambda line: None,
    progress: Progress = lambda phase, percent: None,
    cancel_check: Callable[[], bool] | None = None,
) -> PackedVersion:
    """Pack ``tree`` with ``kernel`` and ``initrd`` into ``versions_dir/<id>/``.

    ``versions_dir`` is ``<images root>/<imagename>/versions``. Returns the published
    version; ``reused`` is True when identical content was already published. On any
    failure or cancel the temporary directory is removed and nothing is published.
    """
    if method not in METHODS:
        raise ValueError(f"unknown pack method {method!r}; choose from {', '.join(METHODS)}")
    if compression not in COMPRESSIONS:
        raise ValueError(
            f"unknown compression {compression!r}; choose from {', '.join(COMPRESSIONS)}"
        )
    tree, versions_dir = Path(tree).resolve(), Path(versions_dir).resolve()
    versions_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=versions_dir))
    try:
        return _pack_into(
            tree, versions_dir, workdir, kernel, initrd, exlist, method, compression,
            log, progress, cancel_check,
        )  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _pack_into(
    tree, versions_dir, workdir, kernel, initrd, exlist, method, compression, log, progress, cancel
) -> PackedVersion:
    progress("scan", 0)
    paths = list(pack_paths(tree, exlist))
    log(f"packimage: {len(paths)} paths after exlist, method {method}, compression {compression}")
    progress("scan", 100)
    root_name = _root_name(method, compression)
    progress("archive", None)
    if method == "cpio":
        listfile = workdir / "paths.list"
        listfile.write_bytes(b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths))
        _archive_cpio(
            tree, listfile, workdir / root_name, compression, log=log, cancel_check=cancel
        )
        listfile.unlink()
    else:
        _archive_squashfs(
            tree, set(paths), workdir / root_name, compression, log=log, cancel_check=cancel
        )
    progress("archive", 100)
    shutil.copyfile(kernel, workdir / "kernel")
    shutil.copyfile(initrd, workdir / "initrd")
    files = _hash_files(workdir, [root_name, "kernel", "initrd"], progress)
    manifest = {
        "method": method,
        "compression": compression,
        "rootfmt": rootfmt(method, compression),
        "root": root_name,
        "files": files,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (workdir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    progress("publish", None)
    return _publish(workdir, versions_dir, version_id(files), manifest, log)


def _publish(workdir: Path, versions_dir: Path, version: str, manifest: dict, log) -> PackedVersion:
    target = versions_dir / version
    for path in workdir.iterdir():
        path.chmod(0o444)
    workdir.chmod(0o555)
    try:
        workdir.rename(target)
    except OSError:
        if not (target / "manifest.json").exists():
            raise
        log(f"packimage: identical version {version} already exists, reusing it")
        workdir.chmod(0o700)
        stored = json.loads((target / "manifest.json").read_text())
        return PackedVersion(version, target, stored, reused=True)
    log(f"packimage: published version {version}")
    return PackedVersion(version, target, manifest, reused=False)


def _created(version_dir: Path) -> str:
    try:
        return json.loads((version_dir / "manifest.json").read_text())["created"]
    except (OSError, ValueError, KeyError):
        return ""


def _remove(path: Path) -> None:
    """Remove a read-only version tree (pack_image publishes directories as 0555)."""
    path.chmod(0o700)
    shutil.rmtree(path)


def prune_versions(versions_dir: Path, keep: int, protect: set[str]) -> list[str]:
    """Delete all but the ``keep`` newest versions, never one named in ``protect``.

    ``protect`` holds the current version and any version a node is booting or was
    told to boot. Returns the removed version ids.
    """
    versions_dir = Path(versions_dir)
    if not versions_dir.is_dir():
        return []
    versions = [
        d for d in versions_dir.iterdir() if d.is_dir() and not d.name.startswith(TMP_PREFIX)
    ]
    versions.sort(key=lambda d: (_created(d), d.name), reverse=True)
    removed = []
    for old in versions[keep:]:
        if old.name in protect:
            continue
        _remove(old)
        removed.append(old.name)
    return removed


def discard_incomplete(versions_dir: Path) -> list[str]:
    """Remove temporary pack directories left by an interrupted pack (worker killed).

    Call it only when no pack of this image can be running (the image's build lock).
    """
    versions_dir = Path(versions_dir)
    if not versions_dir.is_dir():
        return []
    stale = [d for d in versions_dir.iterdir() if d.name.startswith(TMP_PREFIX)]
    for d in stale:
        _remove(d)
    return [d.name for d in stale]
