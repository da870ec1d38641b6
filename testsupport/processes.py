"""Real worker and server subprocesses against the test database.

Tests start ``manage.py qcluster`` and friends as real processes (no sync mode, no mocks of our
own components); these helpers give them the test database and make sure the whole process
group is gone afterwards, even when a test fails with a job still running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

BASE = Path(__file__).resolve().parent.parent
MANAGE = BASE / "manage.py"


def database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the test database, for real worker/server subprocesses."""
    from django.db import connection

    s = connection.settings_dict
    host = s.get("HOST") or s.get("OPTIONS", {}).get("host", "")
    auth = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{quote(host, safe='')}{port}/{s['NAME']}"


def stop_group(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started.

    The leader gets SIGTERM first (qcluster stops its own children on it); whatever is left
    after ``timeout`` seconds (a build a failed test left running) is killed with the group.
    """
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass


@contextmanager
def qcluster(env: dict[str, str] | None = None, **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """A real ``manage.py qcluster`` with one worker on the test database, stopped afterwards.

    ``env`` adds to the environment (e.g. ``SNPORTAL_IMAGES_DIR``); ``popen`` picks the output
    (``stdout=subprocess.PIPE``); by default the output is discarded.
    """
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "SNPORTAL_WORKERS": "1",
        **(env or {}),
    }
    options: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen}
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), "qcluster"],
        cwd=BASE,
        env=full_env,
        start_new_session=True,
        **options,
    )
    try:
        yield process
    finally:
        stop_group(process)
