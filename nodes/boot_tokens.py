"""Boot tokens: scoped to one boot attempt, a few issues at most, dead when the boot ends.

The boot service has no login: whoever knows a node's MAC can ask for its iPXE script.
So a script carries a token only inside a *boot attempt* that an operator started
(``nodeset osimage=``, ``rinstall``/``rnetboot``, ``rpower on|boot|reset`` of a node in a
netboot state). The attempt accepts scripts for ``SNPORTAL_TIMEOUT_POWERING_ON`` seconds
and issues at most ``SNPORTAL_BOOT_TOKEN_ISSUES`` tokens; a second script (iPXE retrying
after a lost kernel download, or a stranger) gets a *new* token and never invalidates an
earlier one, so asking again can neither steal nor break the real node's boot. The first
accepted status report binds the attempt to its token: the others are revoked and no
more scripts with a token are served. A token then works only while the node's status is
a boot state within its timeout (``SNPORTAL_TIMEOUT_*``); once ``booted`` only repeats of
that report are accepted, for ``SNPORTAL_BOOT_TOKEN_GRACE`` seconds; after ``failed``
nothing. Every issue and refusal is a node event with the client address.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nodes.models import Node


class NotIssued(Exception):
    """No token for this script request; the message says why (shown on the console)."""


def arm(names: Iterable[str], *, now: datetime | None = None) -> int:
    """Open a boot attempt for those of ``names`` in a netboot state; forget older tokens."""
    return Node.objects.filter(name__in=list(names), currstate__startswith="netboot").update(
        boot_armed_at=now or timezone.now(), boot_tokens=[], boot_token=""
    )


def armed(node: Node, now: datetime) -> bool:
    """The node's boot attempt still accepts script requests."""
    window = timedelta(seconds=settings.BOOT_TIMEOUTS[Node.Status.POWERING_ON])
    return node.boot_armed_at is not None and node.boot_armed_at + window > now


def issue(node: Node, *, now: datetime) -> tuple[str, int]:
    """A new token for this boot attempt and its number (1, 2, …); NotIssued otherwise."""
    with transaction.atomic():
        locked = Node.objects.select_for_update().only(
            "id", "boot_armed_at", "boot_tokens", "boot_token"
        )
        current = locked.get(pk=node.pk)
        if not armed(current, now):
            raise NotIssued(
                "no boot attempt is open for this node (it opens with rinstall, rnetboot, "
                "nodeset osimage= or rpower on/boot/reset, for "
                f"{settings.BOOT_TIMEOUTS['powering-on']} s)"
            )
        tokens = list(current.boot_tokens)
        if len(tokens) >= settings.BOOT_TOKEN_ISSUES:
            raise NotIssued(
                f"this boot attempt already issued {len(tokens)} boot scripts (the limit); "
                "start a new one with rinstall or rpower reset"
            )
        token = secrets.token_urlsafe(24)
        tokens.append(token)
        Node.objects.filter(pk=node.pk).update(boot_tokens=tokens, boot_token=token)
    return token, len(tokens)


def _known(node: Node, token: str) -> bool:
    # Compare against every token without stopping early (no timing hint which matched).
    found = False
    for candidate in node.boot_tokens or []:
        found |= bool(token) and hmac.compare_digest(candidate, token)
    return found


def in_boot(node: Node, now: datetime) -> bool:
    """The node is in a boot state (powering-on, netbooting, booting) within its timeout."""
    timeout = settings.BOOT_TIMEOUTS.get(node.status)
    return (
        timeout is not None
        and node.statustime is not None
        and node.statustime + timedelta(seconds=timeout) > now
    )


def valid_for_artifacts(node: Node, token: str, now: datetime) -> bool:
    """The token may download this boot's kernel, initrd and root image."""
    return _known(node, token) and in_boot(node, now)


def report_verdict(node: Node, token: str, status: str, now: datetime) -> str:
    """``accept``, ``repeat`` (a booted node retrying its last report) or ``refuse``."""
    if not _known(node, token):
        return "refuse"
    if in_boot(node, now):
        return "accept"
    grace = timedelta(seconds=settings.BOOT_TOKEN_GRACE)
    if (
        status == Node.Status.BOOTED
        and node.status == Node.Status.BOOTED
        and node.statustime is not None
        and node.statustime + grace > now
    ):
        return "repeat"
    return "refuse"


def bind(node: Node, token: str) -> dict[str, object]:
    """The fields that bind the attempt to the token that reported (others revoked)."""
    return {"boot_tokens": [token], "boot_token": token, "boot_armed_at": None}
