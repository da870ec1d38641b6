"""snportal: provisions and watches stateless cluster nodes (xCAT's workflow in a browser).

``__version__`` is the one place the version lives (pyproject.toml repeats it for packaging;
a test keeps them equal). A service node refuses to run against a portal of another version
(hierarchy.enrol), so both sides must read it from here.
"""

from __future__ import annotations

__version__ = "0.1.0"
