"""The embedded PostgreSQL used when ``DATABASE_URL`` is unset.

A newcomer's machine has no database service; the ``pgserver`` package ships real PostgreSQL
binaries, so we start one under ``var/pgdata`` on a Unix socket (no TCP port, no root needed).
It keeps running after the process that started it exits (every ``manage.py`` call, worker and
test run shares it); ``make stop-db`` stops it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "snportal"


def start(var_dir: Path) -> dict[str, str]:
    """Start (or find running) the embedded server and return Django connection settings."""
    warnings.filterwarnings("ignore", module="platformdirs")
    import pgserver  # imported late: only needed when DATABASE_URL is unset

    var_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(var_dir / "pgdata", cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    _ensure_database(server)
    return {"NAME": DB_NAME, "USER": "postgres", "HOST": socket_dir, "PORT": str(info.port or "")}


def _ensure_database(server) -> None:
    """Create the application database once; CREATE DATABASE cannot be IF NOT EXISTS."""
    marker = Path(server.pgdata) / f".created-{DB_NAME}"
    if marker.exists():
        return
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
        log.info("created embedded database %s", DB_NAME)
    marker.touch()


def stop(var_dir: Path) -> bool:
    """Stop the embedded server if it runs; returns whether one was stopped."""
    import os
    import subprocess

    from pgserver._commands import POSTGRES_BIN_PATH

    pgdata = var_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    cmd = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "stop"]
    if os.geteuid() == 0:
        cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(cmd)]
    return subprocess.run(cmd, check=False, capture_output=True).returncode == 0
