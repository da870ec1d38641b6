"""Console tickets under their old name; they live in the core (:mod:`snportal.tickets`),
which the live-events socket shares with the consoles."""

from __future__ import annotations

from snportal.tickets import (
    RELAY_SALT,
    SALT,
    VIEW,
    WRITE,
    Ticket,
    TicketError,
    TicketLedger,
    mint,
    verify,
)

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
