"""Real genimage builds for slow tests, reused while nothing that shapes them changed.

A Debian service image takes minutes to build; the service-image test and the hierarchy
end-to-end test both need one. The cache key is everything the build depends on: the
definition's attributes (lists, postinstall, synclists…), the distro source's mirror and
suite, and for an otherpkgdir the sha256 of every file in it (the wheelhouse's wheels,
requirements and source snapshot, so any code change rebuilds). A hit copies the cached
tree, kernel and initrd into the image's rootimgdir, exactly where genimage leaves them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

from django.conf import settings

from images import services
from images.models import OsImage
from tests.labkit import build

__all__ = ["definition_key", "genimage_cached"]


def definition_key(image: OsImage) -> str:
    """sha256 over what determines the built tree."""
    attrs = services.attrs_of(image)
    for attr in ("imagename", "description", "packmethod", "compression"):
        attrs.pop(attr)
    attrs["mirror"] = image.source.mirror
    attrs["suite"] = image.source.suite
    digest = hashlib.sha256(json.dumps(attrs, sort_keys=True).encode())
    otherpkgdir = Path(image.otherpkgdir) if image.otherpkgdir.startswith("/") else None
    if otherpkgdir and otherpkgdir.is_dir():
        for path in sorted(otherpkgdir.iterdir()):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("rootimg", "kernel", "initrd"):
        old = target / name
        if old.is_dir():
            services.remove_tree(old)
        else:
            old.unlink(missing_ok=True)
        subprocess.run(["cp", "-a", str(source / name), str(old)], check=True)


def genimage_cached(image: OsImage) -> float:
    """genimage ``image`` or reuse an identical earlier build; returns genimage seconds.

    0.0 means the cached tree was used. The cache lives under ``$SNPORTAL_VAR_DIR/
    test-cache`` (outside any test's temporary directory) and keeps one tree per image name.
    """
    key = definition_key(image)
    base = Path(settings.VAR_DIR) / "test-cache" / "genimage"
    cached = base / f"{image.imagename}-{key[:16]}"
    if (cached / ".complete").exists():
        _copy_tree(cached, image.rootimgdir)
        services.mark_tree_built(image.pk)
        return 0.0
    started = time.monotonic()
    build(image, "genimage")
    seconds = time.monotonic() - started
    for old in base.glob(f"{image.imagename}-*"):
        services.remove_tree(old)
    _copy_tree(image.rootimgdir, cached)
    (cached / ".complete").write_text(f"{seconds:.1f}\n")
    return seconds
