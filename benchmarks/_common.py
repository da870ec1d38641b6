"""What the benchmarks share: a scratch database, free ports, waiting for a server.

The scratch database sits beside the configured one and is dropped afterwards.

Named ``snportal_bench_<pid>`` so that a benchmark never collides with a test run (which
uses ``test_<name>``) or with another benchmark; migrated like a test database.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_database() -> Iterator[None]:
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"snportal_bench_{os.getpid()}"
    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(old, verbosity=0)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, name: str, seconds: float = 30) -> None:
    """Wait until a server subprocess listens on 127.0.0.1:port; exit with its output if it dies."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited: " + (proc.stdout.read() if proc.stdout else ""))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{name} did not start within {seconds:.0f} s")
