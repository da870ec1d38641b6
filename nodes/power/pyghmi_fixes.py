"""A documented runtime patch for pyghmi 1.6.19's lost-wakeup stalls and lock-order deadlock.

Symptom (``/work/shared/research/ipmisim.md`` §2, ``pyghmi.md`` §1.7): a synchronous
call stalls 0.5–1.9 s although the BMC answered in 0.5 ms (strace: the next packet is
pyghmi's retransmission), and concurrent logins from many threads stall ~25 s.

Root cause, read from ``pyghmi/ipmi/private/session.py``. A waiting thread calls
``_io_wait(timeout, addr)``, which queues an Event for the IO thread and sleeps on it.
The IO thread only sets the Event when a datagram from ``addr`` arrives *after* the
Event was queued (or when the deadline passes). Two ways the reply is already gone:

1. On loopback the reply arrives between the caller's ``sendto`` and its
   ``_io_wait``: the IO thread has already moved it into the session's ``pktqueue``,
   so the caller sleeps until its retry deadline (0.5–1 s + jitter), then finds it.
2. Any thread inside ``Session.wait_for_rsp`` (every thread that is logging in does
   this) drains the *global* ``sessionqueue`` and runs other sessions' packets. It
   completes another thread's command or login but never wakes that thread. A thread
   waiting in its login loop sleeps until the earliest deadline it computed, which is
   a keepalive timer of ~25–29 s: the long login stall.

Fix: replace ``session._io_wait`` (the functions that call it look it up as a module
global, so one assignment covers ``awaitresponse``, ``_cmdwait`` and ``_poller``):

* after queuing the Event, return at once if a reply for this waiter is already
  queued (the caller's loop then processes it) — this closes race 1 without polling;
* never sleep longer than ``MAX_SLEEP`` per wait; every caller of ``_io_wait`` loops and
  re-checks its own condition (response matched, still logging, still in command),
  so a wakeup lost to race 2 costs at most ``MAX_SLEEP`` instead of a retry or
  keepalive period. Retry and timeout decisions still use pyghmi's own deadlines.

A second defect, found when the tests ran under heavy load, is a **deadlock**: two
global RLocks are taken in opposite orders. ``send_payload`` holds
``KEEPALIVE_SESSIONS`` and then ``_xmit_packet`` takes ``WAITING_SESSIONS``, while
``wait_for_rsp`` holds ``WAITING_SESSIONS`` while it calls ``_timedout()`` (a retry or
relogin), which sends and so takes ``KEEPALIVE_SESSIONS``. One thread retrying a slow or
dead BMC while another sends then blocks every pyghmi thread of the process forever
(py-spy showed 50 login threads parked on the two locks). Fix: every other path takes
``KEEPALIVE_SESSIONS`` before ``WAITING_SESSIONS`` (or one alone), and both callers of
``_timedout`` hold ``WAITING_SESSIONS`` only around their own dict checks (iterating a
local list, or returning right after), so the patched ``_timedout`` releases
``WAITING_SESSIONS`` if its thread holds it, runs, and takes it back: the order becomes
the same everywhere. (Merging the two locks into one also cured the deadlock, but made
rpower stat over 1,000 BMCs ~40 % slower from contention.)

Measured on this 2-core machine against lab BMCs (``benchmarks/pyghmi_stall.py``, and
``rpower()`` run with ``remove()`` called first), unpatched → patched:

* 300 sequential ``get_power()``: 1.5–5.3 s with 1–6 stalls of 0.68–0.95 s → 0.5–0.6 s,
  no call over 8 ms (race 1: ipmi_sim answers Get Device ID before the caller waits).
* 50 threads logging in at once: about 24.2 s in 20 of 26 rounds → 0.04–0.23 s in every round
  (race 2; the 0.2 s rounds are one wakeup rescued by ``MAX_SLEEP``).
* rpower over 1,000 lab BMCs: stat 2.9–3.9 s → 1.5–1.9 s, on 5.1 s → 2.6–2.9 s.

``MAX_SLEEP`` 0.05 s was measured too: same bulk times, slower concurrent calls (p50 60
vs 48 ms with 50 threads) from the extra wakeups, hence 0.2 s.
"""

from __future__ import annotations

import threading
from importlib.metadata import version

from pyghmi.ipmi.private import session as _session

__all__ = ["MAX_SLEEP", "apply", "applied", "remove"]

MAX_SLEEP = 0.2
_original_io_wait = _session._io_wait
_original_timedout = _session.Session._timedout


def _reply_already_queued(myaddr: object) -> bool:
    if myaddr is None:
        return bool(_session.sessionqueue)
    handlers = _session.Session.bmc_handlers.get(myaddr)
    if not handlers:
        return False
    return any(s.pktqueue for s in list(handlers.values()))


def _io_wait(timeout: float, myaddr: object = None, evq: object = None) -> None:
    """``session._io_wait`` without lost wakeups (see the module docstring)."""
    evt = threading.Event()
    if evq is not None:
        evq.append(evt)
    now = _session._monotonic_time()  # pyghmi's clock (os.times), not time.monotonic
    deadline = now + min(timeout, MAX_SLEEP)
    _session.ioqueue.append((deadline, evt, myaddr))
    # _cmdwait (evq set) waits for another command on the session to finish, not for a
    # packet; a queued reply there belongs to that other command.
    if evq is None and _reply_already_queued(myaddr):
        return  # the queued Event expires harmlessly in the IO thread
    if deadline < _session.selectdeadline:
        sock = _session.iosockets[0]
        sock.sendto(b"\x01", (_session.myself, sock.getsockname()[1]))
    evt.wait()


def _timedout(self: _session.Session) -> None:
    """``Session._timedout`` run without ``WAITING_SESSIONS`` held (lock order, above)."""
    lock = _session.WAITING_SESSIONS
    if not lock._is_owned():
        return _original_timedout(self)
    saved = lock._release_save()  # all recursion levels, as threading.Condition does
    try:
        return _original_timedout(self)
    finally:
        lock._acquire_restore(saved)


def applied() -> bool:
    """Whether the patch is in place."""
    return _session._io_wait is _io_wait and _session.Session._timedout is _timedout


def apply() -> None:
    """Install the patch (idempotent). Refuses other pyghmi versions: re-check first."""
    found = version("pyghmi")
    if found != "1.6.19":
        raise RuntimeError(f"pyghmi_fixes was written for pyghmi 1.6.19, found {found}")
    _session._io_wait = _io_wait
    _session.Session._timedout = _timedout


def remove() -> None:
    """Restore pyghmi's original wait and locks (for before/after measurements)."""
    _session._io_wait = _original_io_wait
    _session.Session._timedout = _original_timedout
