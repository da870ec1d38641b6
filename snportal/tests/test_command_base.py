"""PortalCommand: --user, the declared permission, and expected errors mapped once."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from snportal.defs import DefError
from snportal.management.base import PortalCommand
from xcat.noderange import NoderangeError


class Raising(PortalCommand):
    """A verb that raises what it is told to, as the acting user."""

    permission = "snportal.cancel_job"
    raised: Exception | None = None

    def handle(self, *args: Any, **options: Any) -> None:
        if self.raised is not None:
            raise self.raised
        self.stdout.write(f"acting as {self.who.username}")


def run(raised: Exception | None = None, *args: str) -> str:
    command = Raising()
    command.raised = raised
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (NoderangeError("no node or group named 'rack9'"), "no node or group named 'rack9'"),
        (DefError("bmc: not HOST[:PORT]"), "bmc: not HOST[:PORT]"),
        (
            ValidationError(["ip: not an address", "mac: too short"]),
            "ip: not an address; mac: too short",
        ),
        (PermissionDenied("only admins may show secrets"), "only admins may show secrets"),
    ],
)
def test_an_expected_error_becomes_one_command_error_with_its_message(
    raised: Exception, message: str
) -> None:
    with pytest.raises(CommandError) as caught:
        run(raised)
    assert str(caught.value) == message


@pytest.mark.django_db
def test_an_unexpected_error_is_not_hidden() -> None:
    with pytest.raises(ZeroDivisionError):
        run(ZeroDivisionError("a bug"))


@pytest.mark.django_db
def test_without_user_the_command_acts_as_the_os_user() -> None:
    assert run().endswith("@cli")


@pytest.mark.django_db
def test_user_names_the_actor_and_needs_the_declared_permission(operator: Any, viewer: Any) -> None:
    assert run(None, "--user", operator.username) == f"acting as {operator.username}"
    with pytest.raises(CommandError, match=f"--user {viewer.username}: the role viewer may not"):
        run(None, "--user", viewer.username)
