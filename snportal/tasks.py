"""Job bodies of the core: the check that the workers run jobs."""

from __future__ import annotations

import os
import socket

from snportal.jobs import JobContext


def check_workers(ctx: JobContext) -> str:
    """A job body that proves the workers run jobs: reports where it ran."""
    ctx.progress(50, "answering")
    ctx.log(f"worker {socket.gethostname()} pid {os.getpid()} ran job #{ctx.pk}")
    return "workers are running"
