"""Per-installation secret keys, generated on first use and kept under the var directory.

A key written into the source is a key everybody has: with a published ``SECRET_KEY`` anyone
who reaches the console port can sign a console ticket, and a published BMC-password key
decrypts a database dump. So when no key is configured, each installation makes its own
random one under ``SNPORTAL_VAR_DIR`` (mode 0600) and every process that shares the var
directory (web, workers, console server, tests and the servers they start) reads the same file.

Creation is atomic: the key is written to a private temporary file and hard-linked into place,
which fails if another process won the race; the loser then reads the winner's key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

__all__ = ["installation_key", "require_strong"]


def installation_key(var_dir: Path, filename: str) -> str:
    """The key in ``var_dir/filename``, created with 64 random URL-safe characters if absent."""
    path = Path(var_dir) / filename
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise ImproperlyConfigured(f"{path} cannot be read: {exc}") from exc
    if existing:
        return existing
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{filename}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if the file appeared meanwhile: keep the first one
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"cannot create the installation key {path}: {exc}. Make SNPORTAL_VAR_DIR writable "
            f"or set the key in the environment."
        ) from exc


def require_strong(name: str, value: str, *, min_length: int) -> None:
    """Refuse an explicitly configured key too short or too uniform to resist guessing."""
    if len(value) < min_length or len(set(value)) < 5:
        raise ImproperlyConfigured(
            f"{name} is too weak while DEBUG is off: use at least {min_length} random "
            f"characters (e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
            f"or unset it to use the key generated under SNPORTAL_VAR_DIR."
        )
