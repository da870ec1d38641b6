"""Stanza files under their old name; the format lives in :mod:`xcat.stanza` (no Django)."""

from __future__ import annotations

from xcat.stanza import HEADER, Stanza, StanzaError, encode_value, format, parse

__all__ = ["HEADER", "Stanza", "StanzaError", "encode_value", "format", "parse"]
