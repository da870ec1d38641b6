"""Run one build step as a watched, cancellable subprocess.

Builds run inside django-q2 workers. A step (mmdebstrap, a postinstall script, a
cpio | zstd pipeline) may spawn children of its own, so each step gets its own
process group: cancelling a build must stop the whole group, not leave an orphaned
dpkg holding the build tree. Output is streamed line by line so the build page can
show the log as it grows, and the last lines travel with the failure so the operator
sees why a step failed without opening the full log.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["StepCancelled", "StepFailed", "run_logged"]

TAIL_LINES = 40
# How long a cancelled group gets to exit on SIGTERM before SIGKILL.
TERM_GRACE_SECONDS = 5.0
# How often cancel_check is polled while the step prints nothing.
POLL_SECONDS = 0.2


class StepFailed(Exception):
    """A build step exited non-zero; carries what an operator needs to see."""

    def __init__(self, step: str, returncode: int, tail: Sequence[str]) -> None:
        self.step = step
        self.returncode = returncode
        self.tail = list(tail)
        super().__init__(f"{step} failed with exit status {returncode}")


class StepCancelled(Exception):
    """The build was cancelled while this step ran; its process group was killed."""

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(f"{step} cancelled")


def _pump(stream, lines: queue.Queue) -> None:
    """Move the child's output into a queue so the caller can poll for cancel meanwhile."""
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    lines.put(None)


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the group, give it a grace period, then SIGKILL what is left."""
    _kill_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=TERM_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(proc, signal.SIGKILL)
    proc.wait()


def run_logged(
    cmd: Sequence[str | os.PathLike],
    log: Callable[[str], None],
    *,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    cancel_check: Callable[[], bool] | None = None,
    step: str | None = None,
) -> int:
    """Run ``cmd``, streaming its combined stdout/stderr lines to ``log``.

    Returns 0 on success. Raises StepFailed (non-zero exit, with the log tail) or
    StepCancelled (``cancel_check()`` returned True; the process group was killed).
    ``step`` names the step in errors; it defaults to the program's name.
    """
    step = step or Path(os.fspath(cmd[0])).name
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    proc = subprocess.Popen(
        [os.fspath(c) for c in cmd],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        while True:
            if cancel_check is not None and cancel_check():
                _stop_group(proc)
                raise StepCancelled(step)
            try:
                line = lines.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if proc.poll() is not None:
                    # The step exited but something it started still holds the pipe.
                    _kill_group(proc, signal.SIGKILL)
                continue
            if line is None:
                break
            tail.append(line)
            log(line)
        returncode = proc.wait()
    finally:
        if proc.returncode is None:
            _stop_group(proc)
        # A step may leave daemons behind (a postinstall starting a service in the
        # chroot); they belong to the step's group and must not outlive it.
        _kill_group(proc, signal.SIGKILL)
        proc.stdout.close()
    if returncode != 0:
        raise StepFailed(step, returncode, tail)
    return returncode
