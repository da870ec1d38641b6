"""The shape of every portal command: ``--user``, a declared permission, errors mapped once.

A command subclasses :class:`PortalCommand` and declares what it needs
(``permission = "nodes.power_node"``, or ``"admin"`` for the admin role that definitions
need); the base adds ``--user NAME``, resolves the acting user (default ``<os user>@cli``,
see :mod:`snportal.management.commands._cli`), checks the permission before ``handle``
runs, and turns the errors a verb expects (bad noderange, refused definition, validation,
permission) into one ``CommandError`` with the message that names the fix. Commands over
nodes use :class:`nodes.management.base.NodeCommand`, which adds the noderange and the
per-node printer.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from snportal import audit
from snportal.defs import DefError
from snportal.management.commands._cli import actor, add_user_argument
from xcat.noderange import NoderangeError

#: What a verb may raise for bad input or a refusal: shown as its message, exit status 1.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    NoderangeError,
    DefError,
    ValidationError,
    PermissionDenied,
)


def error_message(exc: Exception) -> str:
    """The words of an expected error: a ValidationError's messages, joined; else str()."""
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or type(exc).__name__


class PortalCommand(BaseCommand):
    """A management command acting as a portal user with a declared permission."""

    #: ``app.codename`` the ``--user`` must have, ``"admin"`` for the admin role, or None
    #: (any active portal user: reading).
    permission: ClassVar[str | None] = None
    #: More error types this command expects (added to :data:`EXPECTED_ERRORS`).
    errors: ClassVar[tuple[type[Exception], ...]] = ()

    who: audit.Actor

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> ArgumentParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        add_user_argument(parser)
        return parser

    def required_permission(self, options: dict[str, Any]) -> str | None:
        """The permission this run needs (a read-only form of a verb may need none)."""
        return self.permission

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            self.who = actor(options, self.required_permission(options))
            return super().execute(*args, **options)
        except (*EXPECTED_ERRORS, *self.errors) as exc:
            raise CommandError(error_message(exc)) from None
