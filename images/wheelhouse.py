"""The service image's otherpkgdir: a wheelhouse the management node builds.

xCAT's service-node image gets its own software from ``otherpkgdir`` (xcat-core and
xcat-dep), because a service node has no internet. snportal's equivalent is a directory
(default ``$SNPORTAL_VAR_DIR/wheelhouse``) holding:

* ``*.whl`` — the service node's Python dependencies (a subset of ``requirements.txt``,
  same pins), built here with pip and its cache, so the image build itself never touches
  the network (``pip install --no-index --find-links``);
* ``service-requirements.txt`` — exactly what the image's venv installs;
* ``snportal-source.tar`` — this checkout's source as it is on disk (what
  ``/opt/snportal`` gets, see :func:`source_files`), without tests, benchmarks or
  ``var/``: no installation keys, no database, no ``.env`` files. The service node
  receives its secrets at enrolment.

Django-free on purpose: ``make install`` runs it as ``python -m images.wheelhouse``
without starting a database; ``manage.py mkwheelhouse`` is the same with Django's
command-line conventions.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = [
    "REPO",
    "REQUIREMENTS_NAME",
    "NOT_ON_SERVICE_NODES",
    "SOURCE_NAME",
    "build_wheelhouse",
    "service_requirements",
    "source_files",
    "write_source_tar",
]

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS_NAME = "service-requirements.txt"
SOURCE_NAME = "snportal-source.tar"
# A service node runs every runtime package of requirements.txt (the lines before the
# "# Tests and tooling" heading) but these: it uses the management node's PostgreSQL.
NOT_ON_SERVICE_NODES = ("pgserver",)
TOOLING_HEADING = "# Tests and tooling"
# Paths of the checkout a service node never needs; anything that could hold a secret of
# this installation lives under var/ (keys, database) and is excluded with it.
EXCLUDED_TOP = ("tests", "benchmarks", "var", "docs", ".ci", "conftest.py")
EXCLUDED_NAMES = (".env", "env")
UNTRACKED_SUFFIXES = (".py", ".html", ".js", ".css", ".sh", ".service")
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def service_requirements(requirements: Path = REPO / "requirements.txt") -> list[str]:
    """The pinned runtime lines of ``requirements.txt`` a service node needs, in file order.

    One list of pins for the portal and its service nodes, so a dependency added for the
    portal (e.g. google-re2 for noderanges) reaches the service image without a second
    list to forget: a service node imports the same apps as the management node.
    """
    lines = []
    for line in requirements.read_text().splitlines():
        if line.strip().startswith(TOOLING_HEADING):
            break
        match = _REQ_NAME.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        if _normal(match[1]) not in {_normal(n) for n in NOT_ON_SERVICE_NODES}:
            lines.append(line.split("#", 1)[0].strip())
    if not lines:
        raise ValueError(f"{requirements} has no runtime requirements")
    return lines


def source_files(repo: Path = REPO) -> list[str]:
    """The files of this checkout a service node runs (paths relative to the checkout).

    What the management node runs, so both sides run the same code: git-tracked files as
    they are on disk, plus new, not yet committed source files (``git ls-files --others
    --exclude-standard``, code and templates only). Never var/ (keys, database), tests,
    benchmarks or a stray ``.env``.
    """
    files = []
    for flags in (["--cached"], ["--others", "--exclude-standard"]):
        out = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "-z", *flags], capture_output=True, check=True
        ).stdout.decode()
        for path in filter(None, out.split("\0")):
            parts = path.split("/")
            if parts[0] in EXCLUDED_TOP or "tests" in parts[:-1] or parts[-1] in EXCLUDED_NAMES:
                continue
            if parts[-1].startswith(".env") or not (repo / path).is_file():
                continue  # deleted in the work tree but still tracked
            if flags[0] == "--others" and not path.endswith(UNTRACKED_SUFFIXES):
                continue
            files.append(path)
    return sorted(set(files))


def write_source_tar(target: Path, repo: Path = REPO) -> int:
    """Write the source snapshot (root-owned, mtimes kept); returns the number of files."""
    files = source_files(repo)
    tmp = target.with_suffix(".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            info = tar.gettarinfo(str(repo / path), arcname=path)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with open(repo / path, "rb") as f:
                tar.addfile(info, f)
    os.replace(tmp, target)
    return len(files)


def build_wheelhouse(
    target: Path,
    *,
    python: str = sys.executable,
    log: Callable[[str], None] = print,
    pip_args: Iterable[str] = (),
) -> Path:
    """Fill ``target`` with the service node's wheels, requirements and source snapshot.

    ``pip wheel`` uses pip's cache, so a second run (or one after ``make install``) needs
    no network. Wheels are for this Python; the image's Python (Debian 12: 3.11) must
    match, and the image build checks it.
    """
    target.mkdir(parents=True, exist_ok=True)
    requirements = service_requirements()
    # Written under its final name only when the wheels are there: make's stamp.
    req_file = target / f".{REQUIREMENTS_NAME}.new"
    buf = io.StringIO()
    buf.write("# snportal service node: installed with pip --no-index --find-links .\n")
    buf.writelines(line + "\n" for line in requirements)
    req_file.write_text(buf.getvalue())
    cmd = [python, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
    cmd += ["--wheel-dir", str(target), "-r", str(req_file), *pip_args]
    log("mkwheelhouse: " + " ".join(cmd))
    subprocess.run(cmd, check=True)
    os.replace(req_file, target / REQUIREMENTS_NAME)
    count = write_source_tar(target / SOURCE_NAME)
    wheels = sorted(p.name for p in target.glob("*.whl"))
    log(f"mkwheelhouse: {len(wheels)} wheels, {count} source files in {target}")
    return target


def default_target() -> Path:
    """``$SNPORTAL_VAR_DIR/wheelhouse`` (the settings' VAR_DIR, read without Django)."""
    var = os.environ.get("SNPORTAL_VAR_DIR", "").strip()
    return (Path(var) if var else REPO / "var").resolve() / "wheelhouse"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m images.wheelhouse", description=__doc__)
    parser.add_argument("--target", type=Path, default=None, help="default: var/wheelhouse")
    args = parser.parse_args(argv)
    build_wheelhouse((args.target or default_target()).resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
