"""What the benchmarks share: a scratch database, free ports, a server for a block, an
image version to serve.

The scratch database sits beside the configured one and is dropped afterwards.

Named ``snportal_bench_<pid>`` so that a benchmark never collides with a test run (which
uses ``test_<name>``) or with another benchmark; migrated like a test database.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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


def published_image(imagename: str, files: dict[str, bytes], version: str = "") -> Any:
    """A busybox osimage whose current version holds ``files`` (written, real sha256s).

    What a packimage leaves behind, without packing: the benchmarks measure serving it.
    ``version`` defaults to a random id (a fresh cache key on every run).
    """
    import hashlib
    import secrets

    from images import services as image_services
    from images.models import DistroSource, ImageVersion
    from snportal import audit

    source, _ = DistroSource.objects.get_or_create(
        name="busybox", defaults=image_services.DISTROS["busybox"]
    )
    attrs = {**image_services.defaults_for(source, "compute"), "imagename": imagename}
    image = image_services.save(None, attrs, actor=audit.Actor(None, "bench"))
    version = version or secrets.token_hex(8)
    vdir = image.versions_dir / version
    vdir.mkdir(parents=True)
    manifest = {}
    for name, data in files.items():
        (vdir / name).write_bytes(data)
        manifest[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    image.current_version = ImageVersion.objects.create(
        image=image,
        version=version,
        method="cpio",
        compression="zstd",
        rootfmt="cpio.zst",
        root="rootimg.cpio.zst",
        files=manifest,
    )
    image.save(update_fields=["current_version"])
    return image


@contextmanager
def serving(
    command: list[str], env: dict[str, str], port: int, name: str, cwd: Path
) -> Iterator[subprocess.Popen]:
    """A server subprocess listening on 127.0.0.1:port for the ``with`` block, then stopped."""
    server = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_port(port, server, name)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def timed(call: Callable[[], Any], rounds: int) -> tuple[list[float], int, Any]:
    """Milliseconds of ``rounds`` calls after a warm-up call, the queries one more call makes,
    and what that call returned."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm caches (templates, connection, query plans)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return times, len(queries), result
