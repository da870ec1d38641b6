"""Stanza files under their old name; the format lives in :mod:`xcat.stanza` (no Django)."""

from __future__ import annotations

from xcat.stanza import *  # noqa: F403 - the same public names
from xcat.stanza import __all__  # noqa: F401 - re-exported as they are
