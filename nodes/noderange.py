"""Noderanges for the node app: xCAT's grammar (:mod:`xcat.noderange`) under its old name.

The grammar is pure and lives in :mod:`xcat.noderange`; this module is where the node
app's code and tests take it from, and :func:`nodes.services.resolve` binds it to the
database (every node, every group, attributes for selectors, SNPORTAL_NODERANGE_MAX).
"""

from __future__ import annotations

from xcat.noderange import (
    DEFAULT_MAX_NAMES,
    MAX_FILE_BYTES,
    MAX_PATTERN_CHARS,
    MAX_TEXT_CHARS,
    NUMERIC_PREFIX,
    NoderangeError,
    NoderangeSyntaxError,
    NoderangeTooLargeError,
    UnknownNodesError,
    compress,
    expand,
    natural_key,
)

__all__ = [
    "DEFAULT_MAX_NAMES",
    "MAX_FILE_BYTES",
    "MAX_PATTERN_CHARS",
    "MAX_TEXT_CHARS",
    "NUMERIC_PREFIX",
    "NoderangeError",
    "NoderangeSyntaxError",
    "NoderangeTooLargeError",
    "UnknownNodesError",
    "compress",
    "expand",
    "natural_key",
]
