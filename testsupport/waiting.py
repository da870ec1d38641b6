"""Waiting for a condition instead of sleeping a fixed time.

A fixed sleep is either too short on a loaded CI machine (a flaky test) or too long everywhere
else (a slow one); polling a predicate against a deadline is neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30,
    interval: float = 0.1,
    message: str | Callable[[], str] = "the condition did not hold",
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Raises AssertionError with ``message`` (a string, or a callable for a message that describes
    the state at the deadline) when ``timeout`` seconds pass first; the predicate is always
    asked once more at the deadline so that a slow last interval does not lose a success.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (after {timeout:g} s)")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
