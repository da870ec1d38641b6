"""Console logs on disk: raw bytes per node, size rotation, and a timestamp index.

``<dir>/<node>.log`` holds the console bytes exactly as received, plus event lines such
as ``[snportal 2026-11-26T10:42:00Z lost: …]`` when the connection changes, so the file
reads like the terminal did. ``<node>.idx`` has one line ``<unix time> <offset>`` for
the first write in each second, which answers "what did the console say at 10:42"
without scanning megabytes (:func:`read_at`). When the log passes ``max_bytes`` it and
its index move to ``.1`` (older ones shift up, the oldest past ``keep`` is deleted).

Writes are buffered and flushed by the broker once a second: the console server writes
for hundreds of nodes from one thread and must not do a syscall per SOL packet.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["ConsoleLog", "log_files", "read_at"]

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_KEEP = 4


class ConsoleLog:
    """The append side of one node's log (used on the console server's loop)."""

    def __init__(
        self,
        directory: Path,
        node: str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.node = node
        self.max_bytes = max_bytes
        self.keep = keep
        self.clock = clock
        self._log: BinaryIO | None = None
        self._idx: BinaryIO | None = None
        self._size = 0
        self._last_second = -1

    @property
    def path(self) -> Path:
        return self.directory / f"{self.node}.log"

    @property
    def index_path(self) -> Path:
        return self.directory / f"{self.node}.idx"

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Held open for the node's lifetime: reopening per write would cost a syscall each.
        self._log = open(self.path, "ab")
        self._idx = open(self.index_path, "ab")
        self._size = self._log.tell()
        self._last_second = -1

    def write(self, data: bytes) -> None:
        if self._log is None:
            self._open()
        assert self._log is not None and self._idx is not None
        now = self.clock()
        if int(now) != self._last_second:
            self._last_second = int(now)
            self._idx.write(f"{now:.3f} {self._size}\n".encode())
        self._log.write(data)
        self._size += len(data)
        if self._size >= self.max_bytes:
            self.rotate()

    def event(self, text: str) -> None:
        """A connection event, on a line of its own in the log (never in the ring)."""
        stamp = dt.datetime.fromtimestamp(self.clock(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.write(f"\r\n[snportal {stamp} {text}]\r\n".encode(errors="replace"))

    def rotate(self) -> None:
        self.close()
        for suffix in (".log", ".idx"):
            base = self.directory / f"{self.node}{suffix}"
            Path(f"{base}.{self.keep}").unlink(missing_ok=True)
            for n in range(self.keep - 1, 0, -1):
                older = Path(f"{base}.{n}")
                if older.exists():
                    older.rename(f"{base}.{n + 1}")
            if base.exists():
                base.rename(f"{base}.1")

    def flush(self) -> None:
        if self._log is not None and self._idx is not None:
            self._log.flush()
            self._idx.flush()

    def close(self) -> None:
        if self._log is not None and self._idx is not None:
            self._log.close()
            self._idx.close()
        self._log = self._idx = None


def log_files(directory: Path, node: str) -> list[tuple[Path, Path]]:
    """(log, index) pairs of a node, newest first: the current file, then ``.1``, ``.2``…"""
    base = Path(directory) / node
    pairs = [(Path(f"{base}.log"), Path(f"{base}.idx"))]
    n = 1
    while Path(f"{base}.log.{n}").exists():
        pairs.append((Path(f"{base}.log.{n}"), Path(f"{base}.idx.{n}")))
        n += 1
    return [(log, idx) for log, idx in pairs if log.exists()]


def _index(path: Path) -> tuple[list[float], list[int]]:
    times: list[float] = []
    offsets: list[int] = []
    if path.exists():
        for line in path.read_text().splitlines():
            stamp, _, offset = line.partition(" ")
            times.append(float(stamp))
            offsets.append(int(offset))
    return times, offsets


def read_at(directory: Path, node: str, when: float, length: int = 64 * 1024) -> bytes:
    """Up to ``length`` bytes of console output starting at the second ``when`` (unix time).

    Finds the newest file whose index starts at or before ``when`` and, in it, the last
    indexed write at or before ``when``; output is read from there, continuing into newer
    files. Empty when the logs start after ``when`` and nothing was logged since.
    """
    chunks: list[bytes] = []
    for log, offset in _positions(directory, node, when):
        with open(log, "rb") as f:
            f.seek(offset)
            chunks.append(f.read(length - sum(map(len, chunks))))
        if sum(map(len, chunks)) >= length:
            break
    return b"".join(chunks)


def _positions(directory: Path, node: str, when: float) -> Iterator[tuple[Path, int]]:
    """(file, offset) pairs to read in order: the file covering ``when``, then newer ones."""
    files = log_files(directory, node)  # newest first
    start = None
    for i, (_log, idx) in enumerate(files):
        times, offsets = _index(idx)
        if times and times[0] <= when:
            pos = bisect.bisect_right(times, when) - 1
            start = (i, offsets[pos])
            break
    if start is None:  # everything logged is newer than ``when``: start at the oldest
        if not files:
            return
        start = (len(files) - 1, 0)
    first, offset = start
    yield files[first][0], offset
    for i in range(first - 1, -1, -1):
        yield files[i][0], 0
