"""Console tickets under their old name; they live in the core (:mod:`snportal.tickets`),
which the live-events socket shares with the consoles."""

from __future__ import annotations

from snportal.tickets import *  # noqa: F403 - the same public names
from snportal.tickets import __all__  # noqa: F401 - re-exported as they are
