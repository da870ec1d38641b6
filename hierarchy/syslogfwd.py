"""A service node's syslog, forwarded to the portal (the seed's ``tail -f /var/log/messages``).

xCAT forwards a service node's syslog to the management node over UDP (``*.* @$MASTER``).
Here the service node already holds a database connection, so the forwarder follows the
journal (``journalctl -f -o json``: systemd-journald is what the Debian service image runs;
it also has the kernel's and every unit's messages, which /dev/log alone would miss) and
writes batches of :class:`hierarchy.models.SyslogLine` rows: one INSERT per batch (at most
``batch`` lines or ``interval`` seconds), so a chatty service node costs the database a few
statements a second. The last journal cursor written is kept in ``cursor_file`` so that a
restarted forwarder continues where it stopped instead of sending lines twice.
The management node shows them at ``/hierarchy/<sn>/syslog/``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Entry", "Forwarder", "journal_command", "parse"]

log = logging.getLogger(__name__)

#: Lines kept per service node; older ones are deleted as new batches arrive.
KEEP = 200_000
_MAX_MESSAGE = 4000


@dataclass(frozen=True)
class Entry:
    """One journal record, as much of it as the syslog page shows."""

    time: dt.datetime
    host: str
    program: str
    severity: int
    message: str
    cursor: str


def _text(value: object) -> str:
    """journald gives binary fields as lists of byte values."""
    if isinstance(value, list):
        return bytes(v for v in value if isinstance(v, int) and 0 <= v < 256).decode(
            errors="replace"
        )
    return "" if value is None else str(value)


def parse(line: str) -> Entry | None:
    """A ``journalctl -o json`` line as an :class:`Entry`; None for anything else."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "MESSAGE" not in record:
        return None
    try:
        micros = int(record.get("__REALTIME_TIMESTAMP", 0))
        when = dt.datetime.fromtimestamp(micros / 1e6, dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        when = dt.datetime.now(dt.UTC)
    try:
        severity = min(7, max(0, int(record.get("PRIORITY", 6))))
    except (TypeError, ValueError):
        severity = 6
    program = _text(record.get("SYSLOG_IDENTIFIER") or record.get("_COMM") or "")
    return Entry(
        time=when,
        host=_text(record.get("_HOSTNAME", ""))[:100],
        program=program[:100],
        severity=severity,
        message=_text(record["MESSAGE"]).replace("\x00", "")[:_MAX_MESSAGE],
        cursor=_text(record.get("__CURSOR", "")),
    )


def journal_command(cursor: str = "") -> list[str]:
    """Follow the journal from after ``cursor``, or from its last 100 lines."""
    command = ["journalctl", "--follow", "--output=json", "--no-pager"]
    return [*command, f"--after-cursor={cursor}"] if cursor else [*command, "--lines=100"]


class Forwarder:
    """Reads journal-like JSON lines from a subprocess and writes them in batches."""

    def __init__(
        self,
        servicenode: str,
        *,
        command: Sequence[str] | None = None,
        cursor_file: Path | None = None,
        batch: int = 500,
        interval: float = 1.0,
    ) -> None:
        self.servicenode = servicenode
        self.cursor_file = cursor_file
        self.command = list(command) if command else journal_command(self._saved_cursor())
        self.batch = batch
        self.interval = interval
        self.written = 0
        self._sn_id: int | None = None

    def _saved_cursor(self) -> str:
        if self.cursor_file is None:
            return ""
        try:
            return self.cursor_file.read_text().strip()
        except OSError:
            return ""

    def run(self, stop: threading.Event) -> int:
        """Forward until ``stop`` is set or the source ends; the lines written."""
        proc = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        lines: queue.Queue[str | None] = queue.Queue(maxsize=10 * self.batch)
        reader = threading.Thread(target=_pump, args=(proc, lines), daemon=True)
        reader.start()
        pending: list[Entry] = []
        ended = False
        try:
            while not (stop.is_set() or ended):
                try:
                    line = lines.get(timeout=self.interval)
                except queue.Empty:
                    line = ""
                if line is None:
                    ended = True
                elif line and (entry := parse(line)) is not None:
                    pending.append(entry)
                    if len(pending) < self.batch:
                        continue
                # A full batch, a quiet interval or the end: write what there is.
                while not ended and len(pending) < self.batch:
                    try:
                        more = lines.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        ended = True
                    elif (entry := parse(more)) is not None:
                        pending.append(entry)
                if pending:
                    self.write(pending)
                    pending = []
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        return self.written

    def write(self, entries: Sequence[Entry]) -> None:
        """One INSERT for the batch, then the cursor file, then trimming old lines."""
        from hierarchy.models import ServiceNode, SyslogLine

        if self._sn_id is None:
            self._sn_id = ServiceNode.objects.only("pk").get(node__name=self.servicenode).pk
        SyslogLine.objects.bulk_create(
            [
                SyslogLine(
                    servicenode_id=self._sn_id,
                    time=e.time,
                    host=e.host,
                    program=e.program,
                    severity=e.severity,
                    message=e.message,
                )
                for e in entries
            ]
        )
        self.written += len(entries)
        cursor = entries[-1].cursor
        if self.cursor_file is not None and cursor:
            tmp = self.cursor_file.with_suffix(".tmp")
            tmp.write_text(cursor + "\n")
            tmp.replace(self.cursor_file)
        if self.written % (10 * self.batch) < len(entries):  # now and then, not per batch
            _trim(self._sn_id)


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)
    lines.put(None)


def _trim(sn_id: int) -> None:
    """Keep the newest :data:`KEEP` lines of a service node."""
    from hierarchy.models import SyslogLine

    rows = SyslogLine.objects.filter(servicenode_id=sn_id)
    boundary = rows.order_by("-id").values_list("id", flat=True)[KEEP : KEEP + 1]
    if boundary:
        rows.filter(id__lte=boundary[0]).delete()
