"""What the xCAT-style verbs share: who runs them and what that person may do.

A management command runs with database access, so whoever can start one could read
every row anyway; by default it acts as ``<os user>@cli`` with an administrator's reach.
``--user NAME`` makes it act as a portal user instead: the audit trail names that user and
the user's role limits what the command may do. Showing secrets always needs ``--user``
naming an admin, so that revealing BMC passwords is tied to a person in the audit trail.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from snportal import audit, roles


def intermixed(parser: ArgumentParser) -> None:
    """Accept options between positional words (``chdef node01 -p groups=rack1``), as
    xCAT's Getopt does; argparse alone refuses a second run of ``attr=value`` words."""
    parser.parse_args = parser.parse_intermixed_args  # type: ignore[method-assign]


def add_user_argument(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="act as this portal user (audited, limited by their role); default <os user>@cli",
    )


def actor(options: dict[str, Any], permission: str | None = None) -> audit.Actor:
    """The actor for ``--user`` (which must exist and may do ``permission``; ``"admin"``
    means the admin role, which definitions need), else the OS user."""
    name = options.get("user")
    if not name:
        return audit.cli_actor()
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        raise CommandError(f"--user {name}: no active portal user of that name")
    role = roles.role_of(user)
    allowed = role == roles.ADMIN if permission == "admin" else user.has_perm(permission or "")
    if permission and not allowed:
        raise CommandError(f"--user {name}: the role {role or 'none'} may not do this")
    return audit.cli_actor(name)


def admin_actor(options: dict[str, Any], flag: str) -> audit.Actor:
    """An actor that must be a named portal admin (for ``--show-secrets``)."""
    if not options.get("user"):
        raise CommandError(f"{flag} needs --user NAME of a portal admin (it is audited)")
    return actor(options, "admin")


def print_warnings(stderr: Any, warnings: list[str]) -> None:
    for line in warnings:
        stderr.write(f"Warning: {line}")


def print_errors(stderr: Any, errors: list[str]) -> None:
    """xCAT's ``Error: …`` lines, for objects skipped while the rest went ahead."""
    for line in errors:
        stderr.write(f"Error: {line}")


def exit_failed() -> None:
    """Exit 1 after the ``Error:`` lines are printed, as xCAT's commands do when any object
    failed (a CommandError would print its message once more)."""
    raise SystemExit(1)
