"""Console logs: rotation by size and lookups by time across rotated files."""

from __future__ import annotations

from pathlib import Path

from consoles.capture import ConsoleLog, log_files, read_at


def test_a_log_past_its_size_moves_to_dot_one_and_the_oldest_is_dropped(tmp_path: Path) -> None:
    log = ConsoleLog(tmp_path, "n1", max_bytes=100, keep=2)
    for i in range(5):
        log.write(bytes([65 + i]) * 100)  # each write fills a file
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["n1.idx.1", "n1.idx.2", "n1.log.1", "n1.log.2"]
    assert (tmp_path / "n1.log.1").read_bytes() == b"E" * 100


def test_a_time_lookup_starts_in_the_rotated_file_and_continues_into_newer_ones(
    tmp_path: Path,
) -> None:
    now = [1000.0]
    log = ConsoleLog(tmp_path, "n1", max_bytes=10, clock=lambda: now[0])
    for word in (b"zero-----\n", b"one------\n", b"two------\n"):
        log.write(word)
        now[0] += 60
    log.close()
    assert len(log_files(tmp_path, "n1")) == 3
    assert read_at(tmp_path, "n1", 1070) == b"one------\ntwo------\n"


def test_a_lookup_before_the_first_log_starts_at_the_oldest_output(tmp_path: Path) -> None:
    log = ConsoleLog(tmp_path, "n1", clock=lambda: 5000.0)
    log.write(b"first")
    log.close()
    assert read_at(tmp_path, "n1", 10.0) == b"first"


def test_connection_events_are_lines_of_their_own_in_the_log(tmp_path: Path) -> None:
    log = ConsoleLog(tmp_path, "n1", clock=lambda: 0.0)
    log.write(b"login:")
    log.event("lost: BMC silent")
    log.close()
    text = (tmp_path / "n1.log").read_bytes()
    assert text == b"login:\r\n[snportal 1970-01-01T00:00:00Z lost: BMC silent]\r\n"
