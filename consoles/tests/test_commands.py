"""rcons and wcons from a shell: a real ``manage.py`` process against a console server."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from consoles.tests.conftest import ServerThread
from nodes.models import Node
from testsupport.processes import database_url_for_subprocess

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


def rcons(server: ServerThread, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}
    return subprocess.Popen(
        [sys.executable, str(MANAGE), "rcons", *args, "--server", server.url("")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def read_until(proc: subprocess.Popen[bytes], marker: bytes, why: str) -> None:
    """Read rcons' terminal output until ``marker`` shows (fail if rcons ends first)."""
    assert proc.stdout is not None
    seen = b""
    while marker not in seen:
        chunk = proc.stdout.read1(4096)
        assert chunk, why
        seen += chunk


def type_keys(proc: subprocess.Popen[bytes], keys: bytes) -> tuple[bytes, bytes]:
    """Type ``keys`` (ending with Ctrl-e c .) and wait for rcons to end: (stdout, stderr)."""
    assert proc.stdin is not None
    proc.stdin.write(keys)
    proc.stdin.flush()
    return proc.communicate(timeout=30)


@pytest.mark.django_db
def test_rcons_shows_the_console_and_types_until_ctrl_e_c_dot(
    console_server: ServerThread,
) -> None:
    console_server.feed("n1", b"login: ")
    proc = rcons(console_server, "n1")
    read_until(proc, b"login: ", "rcons ended before showing the console")
    out, err = type_keys(proc, b"root\r\x05c.")
    assert proc.returncode == 0, err
    assert out.rstrip().endswith(b"[rcons: disconnected]")
    assert bytes(console_server.sources["n1"].typed) == b"root\r"


@pytest.mark.django_db
def test_rcons_spy_mode_sends_nothing(console_server: ServerThread) -> None:
    proc = rcons(console_server, "n1", "-s")
    read_until(proc, b"read-only", "rcons ended without saying it is read-only")
    type_keys(proc, b"reboot\r\x05c.")
    assert proc.returncode == 0 and bytes(console_server.sources["n1"].typed) == b""


@pytest.mark.django_db
def test_rcons_reports_a_node_the_server_has_no_console_for(console_server: ServerThread) -> None:
    proc = rcons(console_server, "ghost")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and b"ghost: console server refused: no console for ghost" in err


@pytest.mark.django_db
def test_wcons_prints_the_wall_url(settings: Any) -> None:
    settings.PORTAL_URL = "http://portal.example:8000"
    for name in ("lab01", "lab02"):
        Node.objects.create(name=name)
    out = StringIO()
    call_command("wcons", "lab01-lab02", stdout=out, stderr=StringIO())
    assert out.getvalue().strip() == "http://portal.example:8000/consoles/wall/?range=lab01-lab02"


@pytest.mark.django_db
def test_wcons_refuses_unknown_nodes() -> None:
    with pytest.raises(CommandError, match="ghost"):
        call_command("wcons", "ghost", stdout=StringIO(), stderr=StringIO())
