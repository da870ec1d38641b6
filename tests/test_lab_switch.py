"""The lab app and its guest address are there only when the lab is on (issue 12, item 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parents[1]

# Reads the settings module alone: no database, no app loading.
SCRIPT = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
from django.conf import settings
print(json.dumps({
    "lab": "lab" in settings.INSTALLED_APPS,
    "boot_url": settings.BOOT_URL,
    "hosts": settings.ALLOWED_HOSTS,
}))
"""


def settings_with(**env: str) -> dict:
    """The settings a process outside pytest sees with ``env`` (PYTEST_VERSION removed)."""
    full = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "SNPORTAL_LAB")}
    full = {k: v for k, v in full.items() if k not in ("SNPORTAL_BOOT_URL", "ALLOWED_HOSTS")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=BASE,
        env={**full, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_without_the_lab_the_product_defaults_name_no_lab_address() -> None:
    seen = settings_with(SNPORTAL_WEB_ADDR="127.0.0.1:8123")
    assert seen == {
        "lab": False,
        "boot_url": "http://127.0.0.1:8123",
        "hosts": ["127.0.0.1", "localhost", "[::1]"],
    }


def test_turning_the_lab_on_installs_it_with_its_guest_address() -> None:
    seen = settings_with(SNPORTAL_LAB="1")
    assert seen["lab"] is True
    assert seen["boot_url"] == "http://10.0.2.100"
    assert "10.0.2.100" in seen["hosts"]


def test_an_explicit_boot_url_wins_over_the_lab() -> None:
    seen = settings_with(SNPORTAL_LAB="1", SNPORTAL_BOOT_URL="http://portal.example.org")
    assert seen["boot_url"] == "http://portal.example.org"


def test_the_test_run_has_the_lab_on() -> None:
    from django.conf import settings

    assert settings.LAB and "lab" in settings.INSTALLED_APPS
