"""The agent's first step, before Django loads settings: enrol, keep the env in tmpfs, load it.

A freshly booted service node has no database credentials, and settings cannot load
without them (they would start an embedded PostgreSQL instead). So ``manage.py runservice``
calls :func:`prepare` before Django is imported: with no env file yet it reads ``snp.node``,
``snp.enrol`` and ``snp.status`` from the kernel command line, posts them to the portal's
``/boot/enrol``, writes the answer to ``/run/snportal/env`` (0600, tmpfs) and puts it into
``os.environ``. This module imports nothing from Django.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_ENV = "/run/snportal/env"
DEFAULT_CMDLINE = "/proc/cmdline"


class EnrolRefused(Exception):
    """The portal refused (403 not armed / wrong secret, 409 version skew, …)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"enrolment refused ({status}): {message}")
        self.status = status
        self.message = message


def parse_cmdline(text: str) -> dict[str, str]:
    """The ``snp.*`` arguments of a kernel command line."""
    out = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep and key.startswith("snp."):
            out[key] = value
    return out


def portal_base(status_url: str) -> str:
    """``scheme://host[:port]`` of ``snp.status`` — the portal as this node reached it."""
    parts = urllib.parse.urlsplit(status_url)
    if not (parts.scheme and parts.netloc):
        raise ValueError(f"snp.status={status_url!r} is not a URL")
    return f"{parts.scheme}://{parts.netloc}"


def request_env(
    base: str, node: str, secret: str, version: str, *, timeout: float = 30
) -> dict[str, str]:
    """POST ``/boot/enrol``; the env on 200, :class:`EnrolRefused` with the portal's reason."""
    data = urllib.parse.urlencode({"node": node, "secret": secret, "version": version}).encode()
    request = urllib.request.Request(f"{base}/boot/enrol", data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return {str(k): str(v) for k, v in json.load(response)["env"].items()}
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc).get("error", "")
        except ValueError:
            message = exc.reason
        raise EnrolRefused(exc.code, str(message)) from None


def write_env(path: Path, env: dict[str, str]) -> None:
    """``KEY=value`` lines (systemd EnvironmentFile form), mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for key, value in env.items():
        if "\n" in value or "\n" in key:
            raise ValueError(f"{key}: a newline cannot be kept in an env file")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".env-")  # mkstemp: 0600
    with os.fdopen(fd, "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    os.replace(tmp, path)


def read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            env[key.strip()] = value
    return env


def enrol(cmdline_path: Path, env_path: Path, version: str) -> dict[str, str]:
    """Enrol with what the kernel command line carries; write and return the env."""
    args = parse_cmdline(cmdline_path.read_text())
    missing = [k for k in ("snp.node", "snp.enrol", "snp.status") if not args.get(k)]
    if missing:
        raise EnrolRefused(
            0,
            f"the kernel command line ({cmdline_path}) lacks {', '.join(missing)}: this node "
            "was not netbooted while armed; run nodeset <sn> osimage=<image> and reboot it",
        )
    env = request_env(portal_base(args["snp.status"]), args["snp.node"], args["snp.enrol"], version)
    write_env(env_path, env)
    return env


def prepare(argv: list[str]) -> None:
    """``manage.py runservice`` before Django: enrol if there is no env file, then load it.

    Exits (status 2) with the portal's reason when enrolment is refused; systemd's log and
    the node's console then say why, and the portal's row and audit trail say it too.
    """
    import snportal

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--cmdline", default=DEFAULT_CMDLINE)
    parser.add_argument("--env", default=DEFAULT_ENV)
    options, _ = parser.parse_known_args(argv)
    env_path = Path(options.env)
    if env_path.exists():
        env = read_env(env_path)
    else:
        try:
            env = enrol(Path(options.cmdline), env_path, snportal.__version__)
        except (EnrolRefused, ValueError, OSError) as exc:
            print(f"runservice: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        print(f"runservice: enrolled as {env.get('SNPORTAL_SERVICE_NODE')}", file=sys.stderr)
    os.environ.update(env)
