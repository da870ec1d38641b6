"""Websocket tickets: short-lived, signed, single-use permission slips for consoles and
the live-events socket (``/ws/events``).

The web process checks the user's permission and mints a ticket naming the user, the
node(s), the mode (``view`` or ``write``) and a nonce; the console server, which has no
sessions of its own, accepts a connection only with a valid, unexpired, unused ticket for
exactly the console(s) the URL names. Signing uses Django's ``SECRET_KEY`` with a salt of
its own, so a ticket is no use as any other signed value and vice versa.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.core import signing

__all__ = [
    "RELAY_SALT",
    "SALT",
    "VIEW",
    "WRITE",
    "Ticket",
    "TicketError",
    "TicketLedger",
    "mint",
    "verify",
]

SALT = "snportal.consoles.ticket"
# Tickets the management node's console server mints for itself to relay a node's console
# from a service node's console server; that server accepts only these, so a browser
# ticket (audited on the management node) is no use there, nor a relay ticket here.
RELAY_SALT = "snportal.consoles.relay"
VIEW, WRITE = "view", "write"


class TicketError(Exception):
    """Why a ticket is refused; the message is safe to show the client."""


@dataclass(frozen=True)
class Ticket:
    """What a verified ticket grants."""

    user_id: int | None
    username: str
    nodes: tuple[str, ...]
    mode: str
    nonce: str
    ip: str | None = None

    @property
    def can_write(self) -> bool:
        return self.mode == WRITE


def mint(
    *,
    user_id: int | None,
    username: str,
    nodes: list[str],
    mode: str,
    ip: str | None = None,
    salt: str = SALT,
) -> str:
    """A signed ticket string (URL-safe). The caller has checked the permissions."""
    if mode not in (VIEW, WRITE):
        raise ValueError(f"mode must be {VIEW!r} or {WRITE!r}")
    payload = {
        "u": user_id,
        "n": username,
        "c": list(nodes),
        "m": mode,
        "x": secrets.token_urlsafe(12),
        "ip": ip,
    }
    return signing.dumps(payload, salt=salt, compress=True)


def verify(token: str, max_age: float, salt: str = SALT) -> Ticket:
    """The ticket's grant, or :class:`TicketError` if missing, tampered or expired."""
    if not token:
        raise TicketError("a console ticket is required")
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise TicketError("the console ticket has expired; reload to get a new one") from None
    except signing.BadSignature:
        raise TicketError("the console ticket is not valid") from None
    return Ticket(
        user_id=data["u"],
        username=data["n"],
        nodes=tuple(data["c"]),
        mode=data["m"],
        nonce=data["x"],
        ip=data.get("ip"),
    )


class TicketLedger:
    """Nonces already used, remembered until their tickets would have expired anyway."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._used: dict[str, float] = {}

    def use(self, ticket: Ticket) -> None:
        now = time.monotonic()
        self._used = {n: t for n, t in self._used.items() if now - t <= self.max_age}
        if ticket.nonce in self._used:
            raise TicketError("the console ticket was already used")
        self._used[ticket.nonce] = now
