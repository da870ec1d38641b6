"""``make run``: prepare the database, then run every snportal process in the foreground.

Each process's output is prefixed with its name; Ctrl-C (or SIGTERM) stops them all, and if
one dies the others are stopped too, so a newcomer never keeps half a portal running.
Processes appear here as their issues land: web and workers now; the console server and the
lab when their management commands exist.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
COLOURS = {"web": "32", "workers": "34", "consoles": "35", "lab": "33", "setup": "36"}


def manage(*args: str) -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), *args]


def processes() -> list[tuple[str, list[str]]]:
    """The processes to run, by name, with their commands."""
    from django.conf import settings
    from django.core.management import get_commands

    addr = os.environ.get("SNPORTAL_WEB_ADDR", "127.0.0.1:8000")
    procs = [
        ("web", manage("runserver", addr, "--noreload")),
        ("workers", manage("qcluster")),
    ]
    commands = get_commands()
    if "runconsoles" in commands:
        procs.append(("consoles", manage("runconsoles")))
    if settings.LAB and "runlab" in commands:
        from lab.defaults import GUEST_PORTAL

        args = os.environ.get("SNPORTAL_LAB_ARGS", "--nodes 2 --qemu").split()
        if "--hierarchy" in args:
            # The lab's service nodes reach PostgreSQL through their VM's guestfwd, whatever
            # this portal's own DATABASE_URL host (or embedded socket) is; the web process
            # puts this address into the DATABASE_URL it hands out at enrolment.
            os.environ.setdefault("SNPORTAL_SN_DATABASE_HOST", f"{GUEST_PORTAL}:5432")
        procs.append(("lab", manage("runlab", *args)))
    return procs


def say(name: str, line: str) -> None:
    colour = COLOURS.get(name, "0")
    tty = sys.stdout.isatty()
    prefix = f"\033[{colour}m{name:>8} |\033[0m " if tty else f"{name:>8} | "
    sys.stdout.write(prefix + line.rstrip("\n") + "\n")
    sys.stdout.flush()


def prepare() -> None:
    """Migrate and make sure an admin exists before anything serves requests."""
    for args in (("migrate", "--noinput", "-v", "1"), ("ensure_admin",)):
        result = subprocess.run(manage(*args), cwd=BASE_DIR, capture_output=True, text=True)
        for line in (result.stdout + result.stderr).splitlines():
            if line.strip():
                say("setup", line)
        if result.returncode != 0:
            say("setup", f"'{' '.join(args)}' failed (exit {result.returncode}); not starting")
            raise SystemExit(result.returncode)


def run(procs: list[tuple[str, list[str]]]) -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    running: dict[str, subprocess.Popen] = {}
    sel = selectors.DefaultSelector()
    for name, cmd in procs:
        proc = subprocess.Popen(
            cmd,
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        running[name] = proc
        sel.register(proc.stdout, selectors.EVENT_READ, name)
        say(name, f"started: {' '.join(cmd[1:])} (pid {proc.pid})")

    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stopping:
        for key, _ in sel.select(timeout=0.5):
            line = key.fileobj.readline()
            if line:
                say(key.data, line)
            else:
                sel.unregister(key.fileobj)
        for name, proc in running.items():
            if proc.poll() is not None:
                say(name, f"exited with status {proc.returncode}; stopping the others")
                exit_code = proc.returncode or 1
                stopping = True
    stop_all(running)
    return exit_code


def stop_all(running: dict[str, subprocess.Popen], grace: float = 10.0) -> None:
    for name, proc in running.items():
        if proc.poll() is None:
            say(name, "stopping")
            # Only the leader: django-q2's qcluster stops its children itself and hangs if
            # they are signalled behind its back. The group is killed only after the grace.
            proc.terminate()
    deadline = time.monotonic() + grace
    for name, proc in running.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(name, "did not stop in time; killing")
            proc.kill()
            proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group, if any
        except ProcessLookupError:
            pass
        say(name, "stopped")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # make run is the development portal: the lab is on unless SNPORTAL_LAB=0. Every
    # process inherits it, so each installs the lab app and its boot address (lab.defaults).
    os.environ.setdefault("SNPORTAL_LAB", "1")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    prepare()
    addr = os.environ.get("SNPORTAL_WEB_ADDR", "127.0.0.1:8000")
    say("setup", f"snportal is starting: open http://{addr}/ and log in (Ctrl-C stops everything)")
    raise SystemExit(run(processes()))


if __name__ == "__main__":
    main()
