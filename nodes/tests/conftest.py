"""Fixtures shared by the netboot and boot-token tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from images.tests.factories import make_image, make_version


@pytest.fixture
def packed(settings: Any, tmp_path: Path):
    """An image with a current version whose files exist on disk."""
    settings.IMAGES_DIR = tmp_path / "images"
    image = make_image("busybox-x86_64-netboot-compute")
    bodies = {
        "kernel": b"K" * 1000,
        "initrd": b"I" * 500,
        "rootimg.cpio.zst": bytes(range(256)) * 8,
    }
    files = {n: {"size": len(b), "sha256": f"{n[:4]:0<64}"} for n, b in bodies.items()}
    version = make_version(image, files=files)
    for name, body in bodies.items():
        (version.path / name).write_bytes(body)
    image.current_version = version
    image.save(update_fields=["current_version"])
    return image
