"""No key is built in: each installation generates its own, and every process shares it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core import signing

from consoles import tickets
from snportal.lib.keys import installation_key

BASE = Path(__file__).resolve().parents[2]
# The keys earlier versions shipped in settings.py: published, so they must never be live.
PUBLISHED_DEV_KEYS = {
    "snportal-insecure-development-key-do-not-use-in-production",
    "snportal-development-secrets-key",
}
PRINT_KEYS = (
    "from django.conf import settings; print(settings.SECRET_KEY); print(settings.SECRETS_KEY)"
)


def keys_of_process(var_dir: Path, debug: str = "1") -> list[str]:
    """SECRET_KEY and SECRETS_KEY as a fresh process with no key configured sees them."""
    env = {
        **os.environ,
        "SNPORTAL_VAR_DIR": str(var_dir),
        "DEBUG": debug,
        "SECRET_KEY": "",
        "SECRET_KEY_FILE": "",
        "SNPORTAL_SECRETS_KEY": "",
        "SNPORTAL_SECRETS_KEY_FILE": "",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgresql://unused@127.0.0.1/unused",
    }
    result = subprocess.run(
        [sys.executable, str(BASE / "manage.py"), "shell", "--no-imports", "-c", PRINT_KEYS],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-2:]


def test_unset_keys_are_generated_under_the_var_dir_readable_only_by_the_owner(tmp_path) -> None:
    secret_key, secrets_key = keys_of_process(tmp_path)
    assert (tmp_path / "secret_key").read_text().strip() == secret_key
    assert (tmp_path / "secrets_key").read_text().strip() == secrets_key
    for name in ("secret_key", "secrets_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert len(secret_key) >= 60 and len(secrets_key) >= 60 and secret_key != secrets_key
    assert not PUBLISHED_DEV_KEYS & {secret_key, secrets_key}


def test_every_process_of_one_installation_reads_the_same_keys(tmp_path) -> None:
    assert keys_of_process(tmp_path) == keys_of_process(tmp_path, debug="0")


def test_two_installations_get_different_keys(tmp_path) -> None:
    assert set(keys_of_process(tmp_path / "a")).isdisjoint(keys_of_process(tmp_path / "b"))


def test_processes_racing_on_first_use_agree_on_one_key(tmp_path) -> None:
    seen: list[str] = []
    workers = [
        threading.Thread(target=lambda: seen.append(installation_key(tmp_path, "secret_key")))
        for _ in range(16)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(seen) == 16 and len(set(seen)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left behind


@pytest.mark.parametrize("published", sorted(PUBLISHED_DEV_KEYS))
def test_a_console_ticket_signed_with_a_published_key_is_refused(published: str) -> None:
    forged = signing.dumps(
        {"u": 1, "n": "admin", "c": ["node01"], "m": "write", "x": "n", "ip": None},
        key=published,
        salt=tickets.SALT,
        compress=True,
    )
    with pytest.raises(tickets.TicketError, match="not valid"):
        tickets.verify(forged, max_age=30)
