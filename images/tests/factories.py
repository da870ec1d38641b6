"""Plain factories for image tests: sources, definitions, packed versions."""

from __future__ import annotations

from typing import Any

from images import services
from images.models import DistroSource, ImageVersion, OsImage
from snportal import audit

ACTOR = audit.Actor(user_id=None, username="test@cli")


def make_source(name: str = "busybox", **overrides: Any) -> DistroSource:
    spec = {**services.DISTROS.get(name, services.DISTROS["busybox"]), **overrides}
    source, _ = DistroSource.objects.get_or_create(name=name, defaults=spec)
    return source


def make_image(name: str = "busybox-x86_64-netboot-compute", **overrides: str) -> OsImage:
    """A valid definition saved through the service (revisions and audit included)."""
    source = make_source(overrides.pop("osdistroname", "busybox"))
    attrs = {**services.defaults_for(source, "compute"), "imagename": name, **overrides}
    return services.save(None, attrs, actor=ACTOR)


def make_version(
    image: OsImage, version: str = "0123456789abcdef", **overrides: Any
) -> ImageVersion:
    """A version row with its manifest on disk, as packimage leaves it."""
    path = image.versions_dir / version
    path.mkdir(parents=True, exist_ok=True)
    (path / "manifest.json").write_text("{}\n")
    fields = {
        "method": "cpio",
        "compression": "zstd",
        "rootfmt": "cpio.zst",
        "root": "rootimg.cpio.zst",
        "files": {"rootimg.cpio.zst": {"size": 1000, "sha256": "ab" * 32}},
        **overrides,
    }
    return ImageVersion.objects.create(image=image, version=version, **fields)
