"""IPMI power and boot-device control on pyghmi 1.6.19, shaped by its measured quirks.

xCAT's verbs and words: ``rpower on|off|softoff|reset|boot|cycle|stat|state`` and
``rsetboot net|hd|cd|setup|default|stat`` answer per node ``on``/``off``/``Network``….

Design choices (``/work/shared/research/pyghmi.md`` and ``ipmisim.md`` have the data):

* Credentials go to pyghmi as **bytes**: with ``str`` a second session to the same BMC
  hangs forever in pyghmi 1.6.19.
* pyghmi has no per-call timeout: :func:`nodes.power.base.run_bulk` enforces deadlines.
* Before any login, :func:`probe` sends one RMCP presence ping (which every IPMI LAN
  BMC must answer) to all BMCs at once from a single thread. BMCs that refuse or stay
  silent are reported unreachable after one probe timeout in total, and never occupy a
  worker slot, so 10 % of dead BMCs add about one timeout to a run, not one per node.
* Power uses raw Get Chassis Status / Chassis Control: one round trip (pyghmi's
  ``get_power`` sends Get Device ID first on every call for a non-OEM BMC), and
  ``set_power(wait=True)`` from many threads hangs, so changes are sent then polled.
* ``get_bootdev`` decodes the raw Get System Boot Options reply: pyghmi's always says
  ``default`` against ipmi_sim, which never sets the "valid" bit.
* Logins are rate-limited and every session is logged out when its node is done:
  ipmi_sim (and real BMCs) hold few sessions, and pyghmi never logs out by itself.
* :mod:`nodes.power.pyghmi_fixes` removes pyghmi's lost-wakeup stalls (applied on import).
"""

from __future__ import annotations

import errno
import resource
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pyghmi import exceptions as pyghmi_exc
from pyghmi.ipmi import command

from nodes.power import pyghmi_fixes
from nodes.power.base import PowerDriver, PowerError, Result, run_bulk
from nodes.verbs import BOOTDEV_VERBS, POWER_VERBS, READ_VERBS

__all__ = [
    "BOOTDEV_VERBS",
    "POWER_VERBS",
    "BmcTarget",
    "IpmiDriver",
    "probe",
    "rpower",
    "rsetboot",
]

pyghmi_fixes.apply()

DEFAULT_TIMEOUT = 10.0  # seconds per node, login included
PROBE_TIMEOUT = 2.0  # seconds for the whole presence-ping sweep
DEFAULT_CONCURRENCY = 48  # measured best for 1,000 lab BMCs on 2 cores (see benchmark)
LOGIN_CONCURRENCY = 32
POLL_INTERVAL = 0.1

# rsetboot word (nodes.verbs.BOOTDEV_VERBS) -> pyghmi boot device name
_SETBOOT = {"net": "network", "hd": "hd", "default": "default"}
# boot device selector (Get System Boot Options parameter 5, data 2 bits 5:2) -> xCAT word
_BOOTDEV_WORDS = {
    0: "default",
    1: "Network",
    2: "Hard Drive",
    3: "Hard Drive, Safe Mode",
    4: "Diagnostic Partition",
    5: "CD/DVD",
    6: "BIOS Setup",
    15: "Floppy",
}
# Chassis Control (netfn 0, cmd 2) data byte
_CHASSIS_CONTROL = {"off": 0, "on": 1, "cycle": 2, "reset": 3, "softoff": 5}
# RMCP/ASF Presence Ping (IPMI 2.0 §13.2.3), message tag 0x42
_ASF_PING = bytes((6, 0, 0xFF, 6, 0, 0, 0x11, 0xBE, 0x80, 0x42, 0, 0))

_login_slots = threading.BoundedSemaphore(LOGIN_CONCURRENCY)
# pyghmi hands a second Command to the same BMC and credentials the *same* session, so
# one job logging out would break another job's commands in the same worker process.
# One driver per BMC at a time; a second job waits (within its own deadline).
_bmc_locks: dict[tuple[str, int], threading.Lock] = {}
_bmc_locks_guard = threading.Lock()


def _bmc_lock(host: str, port: int) -> threading.Lock:
    with _bmc_locks_guard:
        return _bmc_locks.setdefault((host, port), threading.Lock())


def _probe_batch_size() -> int:
    """Sockets to keep open at once: all of them unless the fd limit is low, since each
    batch of silent BMCs costs one probe timeout."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(64, soft - 256) if soft != resource.RLIM_INFINITY else 1 << 16


@dataclass(frozen=True)
class BmcTarget:
    """A node's BMC as the inventory holds it (``bmc``, ``bmcusername``, ``bmcpassword``)."""

    name: str
    host: str
    port: int = 623
    user: str = ""
    password: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def unreachable_message(address: str, detail: str = "") -> str:
    extra = f" ({detail})" if detail else ""
    return f"BMC unreachable at {address}{extra}: check the address and network"


CREDENTIALS_MESSAGE = "wrong BMC credentials: check bmcusername/bmcpassword"


def _explain(error: object, address: str) -> str:
    """Turn a pyghmi error into a message that says what to do."""
    text = str(error)
    low = text.lower()
    if any(w in low for w in ("password", "unauthorized", "invalid name", "rakp", "privilege")):
        return CREDENTIALS_MESSAGE
    if low in ("none", "", "timeout") or "no longer connected" in low or "timeout" in low:
        return unreachable_message(address, "no answer")
    return f"BMC at {address} answered: {text}"


class IpmiDriver:
    """One logged-in IPMI session to one BMC (a :class:`PowerDriver`)."""

    def __init__(self, target: BmcTarget, *, wait: float = DEFAULT_TIMEOUT - 2) -> None:
        self.target = target
        self.wait = wait  # how long set_power polls for on/off to be reached
        self._lock = _bmc_lock(target.host, target.port)
        self._lock.acquire()
        try:
            with _login_slots:
                self._cmd = command.Command(
                    bmc=target.host,
                    port=target.port,
                    userid=target.user.encode(),
                    password=target.password.encode(),
                    keepalive=False,
                )
        except pyghmi_exc.PyghmiException as e:
            self._lock.release()
            raise PowerError(_explain(e, target.address)) from e
        except BaseException:
            self._lock.release()
            raise

    def _raw(self, netfn: int, cmd: int, data: Sequence[int] = ()) -> bytes:
        try:
            reply = self._cmd.raw_command(netfn=netfn, command=cmd, data=tuple(data))
        except pyghmi_exc.PyghmiException as e:
            raise PowerError(_explain(e, self.target.address)) from e
        if reply.get("error"):
            raise PowerError(f"BMC at {self.target.address} refused: {reply['error']}")
        return bytes(reply.get("data", b""))

    def power_state(self) -> str:
        """``on`` or ``off`` (Get Chassis Status, current power state bit)."""
        return "on" if self._raw(0, 1)[0] & 1 else "off"

    def _wait_power(self, want: str, seconds: float) -> bool:
        until = time.monotonic() + seconds
        while self.power_state() != want:
            if time.monotonic() > until:
                return False
            time.sleep(POLL_INTERVAL)
        return True

    def set_power(self, state: str) -> str:
        """Act like xCAT's rpower and return what it prints for the node.

        on/off: sent, then polled until the state is reached (``self.wait`` seconds).
        softoff asks the OS to shut down and does not wait (an OS may take minutes).
        boot: on if off, else reset (``off on`` / ``on reset``). reset answers
        ``reset``; cycle polls until on and answers ``on``.
        """
        if state in READ_VERBS:
            return self.power_state()
        if state not in _CHASSIS_CONTROL and state != "boot":
            raise PowerError(f"unknown power state {state!r}: use one of {', '.join(POWER_VERBS)}")
        # on/off are idempotent in IPMI, so they are sent without reading the state first
        # (one round trip and one chassis_control run fewer per node); the poll below
        # answers for nodes that were already there.
        action, word = state, state
        if state == "boot":
            action, word = ("reset", "on reset") if self.power_state() == "on" else ("on", "off on")
        elif state == "softoff" and self.power_state() == "off":
            return "off"
        self._raw(0, 2, (_CHASSIS_CONTROL[action],))
        target = {"on": "on", "off": "off", "cycle": "on"}.get(action)
        if target and not self._wait_power(target, self.wait):
            raise PowerError(
                f"BMC at {self.target.address} accepted power {action} but the node is still "
                f"{self.power_state()} after {self.wait:g} s: check the node's hardware log"
            )
        return target if action == "cycle" else word

    def set_bootdev(self, dev: str) -> str:
        """Set the next boot device (rsetboot net|hd|default); return the new word."""
        if dev == "stat":
            return self.get_bootdev()
        name = _SETBOOT.get(dev)
        if name is None:
            raise PowerError(f"unknown boot device {dev!r}: use one of {', '.join(BOOTDEV_VERBS)}")
        try:
            # pyghmi returns {'error': …} for some failures instead of raising
            reply = self._cmd.set_bootdev(name)
        except pyghmi_exc.PyghmiException as e:
            raise PowerError(_explain(e, self.target.address)) from e
        if isinstance(reply, dict) and reply.get("error"):
            raise PowerError(
                f"BMC at {self.target.address} refused boot device {dev}: {reply['error']}"
            )
        return self.get_bootdev()

    def get_bootdev(self) -> str:
        """The next boot device in xCAT's words, from the raw boot options reply.

        The selector is trusted even when the "valid" bit is clear: ipmi_sim never sets
        that bit, and pyghmi's reading of it is why its own get_bootdev says ``default``.
        """
        data = self._raw(0, 9, (5, 0, 0))  # Get System Boot Options, parameter 5
        if len(data) < 4:
            raise PowerError(f"BMC at {self.target.address} sent a short boot options reply")
        selector = (data[3] >> 2) & 0xF
        return _BOOTDEV_WORDS.get(selector, f"unknown ({selector})")

    def close(self) -> None:
        """Log out: BMCs hold only a few sessions (ipmi_sim 63) and pyghmi never lets go."""
        try:
            self._cmd.ipmi_session.logout()
        finally:
            self._lock.release()


def probe(targets: Iterable[BmcTarget], timeout: float = PROBE_TIMEOUT) -> dict[str, str | None]:
    """Presence-ping every BMC at once; name -> None if it answered, else the error.

    One thread, connected UDP sockets: a closed port (ICMP port unreachable) is known
    at once, a silent address after ``timeout`` (one retransmission half-way).
    """
    targets = list(targets)
    out: dict[str, str | None] = {}
    batch = _probe_batch_size()
    for first in range(0, len(targets), batch):
        out.update(_probe_batch(targets[first : first + batch], timeout))
    return out


def _probe_batch(targets: list[BmcTarget], timeout: float) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    socks: dict[socket.socket, BmcTarget] = {}
    # epoll, not select(): select() cannot watch descriptors above 1024
    with selectors.DefaultSelector() as sel:
        try:
            for t in targets:
                try:
                    info = socket.getaddrinfo(t.host, t.port, type=socket.SOCK_DGRAM)[0]
                except OSError:
                    out[t.name] = f"BMC address {t.host!r} does not resolve: check the node's bmc"
                    continue
                s = socket.socket(info[0], socket.SOCK_DGRAM)
                s.setblocking(False)
                try:
                    s.connect(info[4])
                    s.send(_ASF_PING)
                except OSError as e:
                    out[t.name] = unreachable_message(t.address, e.strerror or str(e))
                    s.close()
                    continue
                socks[s] = t
                sel.register(s, selectors.EVENT_READ)
            start = time.monotonic()
            resent = False
            while socks:
                left = start + timeout - time.monotonic()
                if left <= 0:
                    break
                if not resent and left < timeout / 2:
                    resent = True
                    for s in socks:
                        try:
                            s.send(_ASF_PING)
                        except OSError:
                            pass  # reported when the socket turns readable
                for key, _ in sel.select(min(left, timeout / 2)):
                    s = cast(socket.socket, key.fileobj)
                    t = socks.pop(s)
                    sel.unregister(s)
                    try:
                        s.recv(512)
                        out[t.name] = None
                    except OSError as e:
                        detail = "port closed" if e.errno == errno.ECONNREFUSED else e.strerror
                        out[t.name] = unreachable_message(t.address, detail or str(e))
                    s.close()
            for t in socks.values():
                out[t.name] = unreachable_message(t.address, f"no answer within {timeout:g} s")
        finally:
            for s in socks:
                s.close()
    return out


def _run(
    targets: Sequence[BmcTarget],
    op: Callable[[PowerDriver], str],
    *,
    concurrency: int,
    deadline: float,
    probe_timeout: float,
) -> dict[str, Result]:
    down = {name: err for name, err in probe(targets, probe_timeout).items() if err}
    # leave a margin inside the node deadline so a slow power change reports itself
    wait = max(1.0, deadline - 2.0)
    live = {t.name: (lambda t=t: IpmiDriver(t, wait=wait)) for t in targets if t.name not in down}
    results = run_bulk(live, op, concurrency=concurrency, deadline=deadline)
    results.update({name: Result(False, error=err) for name, err in down.items()})
    return {t.name: results[t.name] for t in targets}


def _run_verb(
    command: str,
    verb: str,
    allowed: Sequence[str],
    targets: Sequence[BmcTarget],
    act: Callable[[PowerDriver], str],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float = DEFAULT_TIMEOUT,
    probe_timeout: float = PROBE_TIMEOUT,
) -> dict[str, Result]:
    """Refuse a verb outside ``allowed`` before any BMC is asked; else ``act`` on every target."""
    if verb not in allowed:
        raise ValueError(f"unknown {command} verb {verb!r}: use one of {', '.join(allowed)}")
    return _run(
        targets, act, concurrency=concurrency, deadline=deadline, probe_timeout=probe_timeout
    )


def rpower(targets: Sequence[BmcTarget], verb: str, **options: Any) -> dict[str, Result]:
    """xCAT's rpower over many BMCs: name -> Result with ``on``/``off``/… or an error.

    ``options``: ``concurrency``, ``deadline`` and ``probe_timeout`` (see ``_run_verb``).
    """
    return _run_verb("rpower", verb, POWER_VERBS, targets, lambda d: d.set_power(verb), **options)


def rsetboot(targets: Sequence[BmcTarget], verb: str, **options: Any) -> dict[str, Result]:
    """xCAT's rsetboot over many BMCs: name -> Result with ``Network``/``Hard Drive``/….

    ``options``: ``concurrency``, ``deadline`` and ``probe_timeout`` (see ``_run_verb``).
    """
    return _run_verb(
        "rsetboot", verb, BOOTDEV_VERBS, targets, lambda d: d.set_bootdev(verb), **options
    )
