"""Image tests build into a temporary IMAGES_DIR; downloads stay cached under var/cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def images_dir(settings: Any, tmp_path: Path) -> Path:
    settings.IMAGES_DIR = tmp_path / "images"
    return settings.IMAGES_DIR
