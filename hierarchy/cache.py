"""A service node's pull-through cache of image artifacts, content-addressed by sha256.

A service node serves kernels, initrds and root images to its compute nodes from local disk,
so the management node sends each file of an image version once per service node, however
many nodes boot it (xCAT's answer was an NFS mount of /install or a hand-run rsync; MAAS 3.5's
rack keeps a similar LRU cache). The layout under ``SNPORTAL_CACHE_DIR``:

* ``objects/<sha256>``: complete, verified files, named by the sha256 the version's manifest
  gives (two versions sharing a kernel share the object);
* ``locks/<sha256>``: one lock file per object: the first miss downloads while every other
  miss, in any thread or process (gunicorn workers), waits on ``flock`` and then finds the
  object (single flight);
* ``tmp/``: downloads in progress; renamed into ``objects/`` only after the sha256 and size
  match, so a partial or corrupt file is never served.

The size is bounded (``SNPORTAL_CACHE_MAX_BYTES``): after a download, the least recently
used objects that no node of this service node boots are evicted.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from nodes.extensions import ArtifactUnavailable

__all__ = ["CacheError", "evict", "fetch", "objects_in_use", "versions_in_use", "warm"]

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
TIMEOUT = 60.0
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class CacheError(ArtifactUnavailable):
    """An artifact cannot be had: the management node refused or failed, or it was corrupt."""


def _dirs() -> tuple[Path, Path, Path]:
    root = Path(settings.CACHE_DIR)
    dirs = (root / "objects", root / "locks", root / "tmp")
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def _expected(version_id: int, filename: str) -> tuple[str, int]:
    from images.models import ImageVersion

    version = ImageVersion.objects.filter(pk=version_id).only("files").first()
    if version is None or filename not in version.files:
        raise FileNotFoundError(f"image version {version_id} has no file {filename!r}")
    entry = version.files[filename]
    sha256 = str(entry["sha256"]).lower()
    if not _SHA256.match(sha256):
        raise CacheError(f"image version {version_id}: {filename} has no valid sha256")
    return sha256, int(entry["size"])


def fetch(version_id: int, filename: str) -> Path:
    """The local path of a verified copy of ``filename`` of an image version.

    Downloads it from the management node on the first request (once, whatever the number
    of concurrent callers); raises :class:`CacheError` if that fails or the bytes do not
    match the manifest, and :class:`FileNotFoundError` for a file the version does not have.
    """
    sha256, size = _expected(version_id, filename)
    objects, locks, tmp = _dirs()
    target = objects / sha256
    if target.is_file():
        _touch(target)
        return target
    with open(locks / sha256, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if target.is_file():  # another caller filled it while this one waited
            _touch(target)
            return target
        _download(version_id, filename, sha256, size, tmp, target)
    evict()
    return target


def _touch(path: Path) -> None:
    """Mark use for LRU eviction (mtime: atime is often not updated, noatime/relatime)."""
    try:
        os.utime(path)
    except OSError:
        pass


def _download(
    version_id: int, filename: str, sha256: str, size: int, tmp: Path, target: Path
) -> None:
    url = f"{settings.MN_URL}/boot/cache/{version_id}/{filename}"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {settings.SN_API_TOKEN}"}
    )
    part = tmp / f"{sha256}.{os.getpid()}.{secrets.token_hex(4)}"
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(part, "wb") as f:
            while data := response.read(CHUNK):
                digest.update(data)
                received += len(data)
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if received != size or digest.hexdigest() != sha256:
            raise CacheError(
                f"{filename} of image version {version_id} from {settings.MN_URL} does not "
                f"match its manifest ({received} bytes, sha256 {digest.hexdigest()[:12]}…; "
                f"expected {size} bytes, {sha256[:12]}…): not cached"
            )
        os.replace(part, target)
    except urllib.error.HTTPError as exc:
        body = exc.read(300).decode(errors="replace").strip()
        raise CacheError(f"management node refused {url}: HTTP {exc.code} {body}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise CacheError(f"cannot fetch {url}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)
    log.info("cached %s of image version %s (%d bytes)", filename, version_id, size)


def warm(versions: Iterable[int]) -> dict[int, str]:
    """Fetch every file of these image versions now; per version, "" or what went wrong.

    The agent calls it on converge and on nodeset events with :func:`versions_in_use`, so
    the first node of a boot storm finds its files already here.
    """
    from images.models import ImageVersion

    results: dict[int, str] = {}
    for version in ImageVersion.objects.filter(pk__in=set(versions)).only("files"):
        try:
            for filename in version.files:
                fetch(version.pk, filename)
            results[version.pk] = ""
        except (CacheError, FileNotFoundError) as exc:
            results[version.pk] = str(exc)
    return results


def versions_in_use(servicenode: str | None = None) -> set[int]:
    """Image versions the nodes of this service node boot now or will at their next boot."""
    from nodes.models import Node

    name = servicenode or settings.SERVICE_NODE
    pattern = rf"(^|,)\s*{re.escape(name)}\s*(,|$)"
    rows = Node.objects.filter(servicenode__regex=pattern).values_list(
        "boot_version_id", "osimage__current_version_id"
    )
    return {pk for row in rows for pk in row if pk is not None}


def objects_in_use(servicenode: str | None = None) -> set[str]:
    """sha256 of every file of :func:`versions_in_use` (never evicted)."""
    from images.models import ImageVersion

    versions = ImageVersion.objects.filter(pk__in=versions_in_use(servicenode))
    return {str(f["sha256"]).lower() for v in versions.only("files") for f in v.files.values()}


def evict(max_bytes: int | None = None) -> list[str]:
    """Drop least recently used objects no node of this service node boots, down to the bound.

    Objects in use stay even past the bound: a node that boots must find its files.
    Returns the evicted sha256s.
    """
    limit = settings.CACHE_MAX_BYTES if max_bytes is None else max_bytes
    objects, _, _ = _dirs()
    entries = []
    for path in objects.iterdir():
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        entries.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return []
    keep = objects_in_use()
    evicted = []
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if path.name in keep:
            continue
        path.unlink(missing_ok=True)
        total -= size
        evicted.append(path.name)
    if evicted:
        log.info("cache: evicted %d object(s), %d bytes left", len(evicted), total)
    return evicted
