"""A scratch database for benchmarks, beside the configured one and dropped afterwards.

Named ``snportal_bench_<pid>`` so that a benchmark never collides with a test run (which
uses ``test_<name>``) or with another benchmark; migrated like a test database.
"""

from __future__ import annotations

import os
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
