"""Noderanges for the node app: xCAT's grammar (:mod:`xcat.noderange`) under its old name.

The grammar is pure and lives in :mod:`xcat.noderange`; this module is where the node
app's code and tests take it from, and :func:`nodes.services.resolve` binds it to the
database (every node, every group, attributes for selectors, SNPORTAL_NODERANGE_MAX).
"""

from __future__ import annotations

from xcat.noderange import *  # noqa: F403 - the same public names
from xcat.noderange import __all__  # noqa: F401 - re-exported as they are
