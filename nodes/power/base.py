"""The power-driver interface and the bulk runner shared by every management protocol.

IPMI (``nodes.power.ipmi``) is the first driver; Redfish can join by implementing
:class:`PowerDriver`. Drivers are blocking and synchronous so that a django-q2 worker can
call them directly; :func:`run_bulk` supplies the concurrency and the deadlines that the
underlying libraries lack.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["PowerDriver", "PowerError", "Result", "run_bulk", "timeout_message"]


class PowerError(Exception):
    """A per-node failure whose message tells the operator what to do."""


@dataclass(frozen=True)
class Result:
    """Outcome for one node: ``value`` in xCAT's words when ``ok``, else ``error``."""

    ok: bool
    value: str = ""
    error: str = ""


class PowerDriver(Protocol):
    """One connection to one node's management controller.

    States and devices use xCAT's words: ``power_state`` answers ``on``/``off``;
    ``set_power`` takes on|off|softoff|reset|boot|cycle and returns what xCAT prints;
    ``set_bootdev`` takes net|hd|default (…); ``get_bootdev`` answers ``Network``,
    ``Hard Drive``, ``default``…. Failures raise :class:`PowerError`.
    """

    def power_state(self) -> str: ...

    def set_power(self, state: str) -> str: ...

    def set_bootdev(self, dev: str) -> str: ...

    def get_bootdev(self) -> str: ...

    def close(self) -> None: ...


Op = Callable[[PowerDriver], str]


def timeout_message(seconds: float) -> str:
    return f"timed out after {seconds:g} s: the BMC did not answer in time; retry, or check it"


def run_bulk(
    targets: Mapping[str, Callable[[], PowerDriver]],
    op: Op,
    *,
    concurrency: int = 32,
    deadline: float = 10.0,
) -> dict[str, Result]:
    """Run ``op`` on a driver for every target, at most ``concurrency`` at a time.

    ``targets`` maps node names to driver factories (the factory logs in, so its time
    counts against the node's ``deadline``, in seconds from the node's start). A node
    past its deadline is reported as timed out and its slot is given to the next node at
    once: the blocked call cannot be cancelled (pyghmi has no per-call timeout), so it is
    left to finish on its daemon thread, which closes its driver when it does. This is
    what keeps a few dead BMCs from slowing everyone else.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    results: dict[str, Result] = {}
    pending = deque(targets)
    running: dict[str, float] = {}  # name -> deadline (monotonic)
    cond = threading.Condition()

    def work(name: str, factory: Callable[[], PowerDriver]) -> None:
        driver: PowerDriver | None = None
        try:
            driver = factory()
            result = Result(True, op(driver))
        except PowerError as e:
            result = Result(False, error=str(e))
        except Exception as e:  # a driver bug must not take the whole job down
            result = Result(False, error=f"{type(e).__name__}: {e}")
        finally:
            if driver is not None:
                try:
                    driver.close()
                except Exception:  # noqa: S110 - logout is best effort, result already known
                    pass
        with cond:
            if name in running:
                del running[name]
                results[name] = result
                cond.notify()

    with cond:
        while pending or running:
            while pending and len(running) < concurrency:
                name = pending.popleft()
                running[name] = time.monotonic() + deadline
                threading.Thread(
                    target=work, args=(name, targets[name]), name=f"power-{name}", daemon=True
                ).start()
            now = time.monotonic()
            for name, until in list(running.items()):
                if until <= now:
                    del running[name]
                    results[name] = Result(False, error=timeout_message(deadline))
            if running and (not pending or len(running) >= concurrency):
                cond.wait(max(0.0, min(running.values()) - now))
    return {name: results[name] for name in targets}
