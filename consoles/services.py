"""Console services: what the web views, the CLI verbs and the console server share.

The console server's domain modules (:mod:`consoles.broker`, :mod:`consoles.server`,
:mod:`consoles.sol`) know nothing of Django; this module connects them to the portal:
which nodes have consoles (Node rows), tickets for a user, audit rows, node events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpRequest

from consoles.broker import Broker, NodeConsole, Source, State
from consoles.capture import ConsoleLog
from consoles.sol import SolRuntime, SolSource
from consoles.sources import RelaySource
from nodes import services as node_services
from nodes.models import Node, NodeEvent
from snportal import audit, live_views, tickets

__all__ = [
    "ConsoleSpec",
    "PortalHooks",
    "console_specs",
    "mint_ticket",
    "sync_broker",
    "websocket_base",
]

log = logging.getLogger(__name__)


def mode_for(user: Any, requested: str = tickets.WRITE) -> str:
    """``write`` when asked for and allowed (``consoles.write_console``), else ``view``.

    ``user`` None is a command run without ``--user``: the OS user, who has the database
    (and so every console) anyway.
    """
    if requested == tickets.WRITE and (user is None or user.has_perm("consoles.write_console")):
        return tickets.WRITE
    return tickets.VIEW


def mint_ticket(user: Any, nodes: Sequence[str], mode: str, ip: str | None = None) -> str:
    """A ticket for ``user``; the caller checked ``consoles.view_console`` and the mode."""
    authenticated = bool(user and user.is_authenticated)
    name = user.get_username() if user else ""
    return mint_for(audit.Actor(user.pk if authenticated else None, name, ip), nodes, mode)


def mint_for(actor: audit.Actor, nodes: Sequence[str], mode: str) -> str:
    """A ticket for an actor (a web user, or a command's ``--user`` / ``<os user>@cli``)."""
    return tickets.mint(
        user_id=actor.user_id, username=actor.username, nodes=list(nodes), mode=mode, ip=actor.ip
    )


def websocket_base(request: HttpRequest) -> str:
    """``ws://host:port`` browsers use to reach the console server (the core's answer:
    the live-events socket is on the same port)."""
    return live_views.websocket_base(request)


def local_websocket_base() -> str:
    """``ws://host:port`` of this host's console server, for commands (rcons)."""
    host = settings.CONSOLES_BIND
    if host in ("0.0.0.0", "::"):  # listening everywhere: reach it on loopback
        host = "127.0.0.1"
    return f"ws://{host}:{settings.CONSOLES_PORT}"


def _in_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Hooks run in worker threads: each call gets a fresh connection and closes it.

    Console opens and closes are rare next to console bytes, and a thread that keeps a
    connection open would hold it for the console server's lifetime.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return wrapper


# --- the console server's view of the portal ---------------------------------------------------
@dataclass(frozen=True)
class ConsoleSpec:
    """How to reach one node's console; a change means reconnecting."""

    name: str
    host: str
    port: int
    user: str
    password: str
    ondemand: bool
    # Behind a service node (on the management node): read from that service node's
    # console server instead of opening SOL; ``relay`` is its console URL, ``via`` its name.
    relay: str = ""
    via: str = ""


def console_specs() -> list[ConsoleSpec]:
    """The consoles this console server holds (nodes with ``cons=ipmi`` and a BMC address).

    On the management node: SOL for nodes without a service node, a relay from the service
    node for the others. On a service node (``SNPORTAL_ROLE=service``): SOL for the nodes
    routed to it (its own, or a dead primary's as their backup), and no others.
    """
    from hierarchy import routing

    ondemand = (
        set(node_services.resolve(settings.CONSOLES_ONDEMAND))
        if settings.CONSOLES_ONDEMAND
        else set()
    )
    rows = Node.objects.filter(cons="ipmi").exclude(bmc="").order_by("sortkey")
    here = settings.SERVICE_NODE if settings.ROLE == "service" else None
    if here is not None:  # read only the nodes that name this service node
        rows = rows.filter(servicenode__regex=rf"(^|,)\s*{re.escape(here)}\s*(,|$)")
    nodes = list(rows)
    routed = [n.name for n in nodes if routing.split_list(n.servicenode)]
    parts, failed = routing.plan(routed) if routed else ({}, {})
    route = {name: sn for sn, names in parts.items() for name in names}
    # No live service node: keep relaying from the primary (it shows why, and recovers).
    route |= {
        name: routing.split_list(n.servicenode)[0] for n in nodes if (name := n.name) in failed
    }
    urls = _console_urls({sn for sn in route.values() if sn})
    specs = []
    for node in nodes:
        via = route.get(node.name)
        if here is not None and via != here:
            continue
        if via and here is None:
            spec = ConsoleSpec(
                node.name, "", 0, "", "", node.name in ondemand, urls.get(via, ""), via
            )
        else:
            host, port = node.bmc_host_port
            spec = ConsoleSpec(
                node.name, host, port, node.bmcusername, node.bmcpassword, node.name in ondemand
            )
        specs.append(spec)
    return specs


def _console_urls(names: set[str]) -> dict[str, str]:
    from hierarchy.models import ServiceNode

    rows = ServiceNode.objects.filter(node__name__in=names).values_list("node__name", "console_url")
    return dict(rows)


def relay_ticket(node: str) -> str:
    """A single-use relay ticket for one node's console on its service node (write: the
    management node checks each viewer's own ticket before it forwards any input)."""
    return tickets.mint(
        user_id=None,
        username="portal-relay",
        nodes=[node],
        mode=tickets.WRITE,
        salt=tickets.RELAY_SALT,
    )


def source_for(spec: ConsoleSpec, runtime: SolRuntime) -> Source:
    """SOL for a node this server reaches, a relay from its service node otherwise."""
    if spec.via:
        return RelaySource(
            spec.relay, spec.name, functools.partial(relay_ticket, spec.name), servicenode=spec.via
        )
    return SolSource(runtime, spec.host, spec.port, spec.user, spec.password)


@_in_thread
def record_transition(node: str, previous: State | None, state: State, message: str) -> None:
    """A node event when the console comes up or goes down (not every failed retry)."""
    if state == State.CONNECTED:
        kind, text = "console", "console connected"
    elif state in (State.LOST, State.TAKEN) and previous == State.CONNECTED:
        kind, text = "console", f"console {state}: {message}"
    else:
        return
    node_row = Node.objects.filter(name=node).first()
    if node_row is not None:
        NodeEvent.objects.create(
            node=node_row, kind=kind, message=text[:500], data={"state": str(state)}
        )


class StateRecorder:
    """Node console state callback: remembers the last state and writes events in a thread."""

    def __init__(self) -> None:
        self._last: dict[str, State] = {}

    def __call__(self, console: NodeConsole, state: State, message: str) -> None:
        previous = self._last.get(console.name)
        if state == State.CONNECTING:  # keep "connected" as previous across a retry
            return
        self._last[console.name] = state
        asyncio.get_running_loop().run_in_executor(
            None, _safely, record_transition, console.name, previous, state, message
        )


def _safely(fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # the timeline is informative; a database hiccup must not stop consoles
        log.exception("recording console state")


async def sync_broker(
    broker: Broker,
    runtime: SolRuntime,
    current: dict[str, ConsoleSpec],
    on_state: Callable[[NodeConsole, State, str], None],
) -> None:
    """Make the broker's consoles match the Node rows: add new, drop gone, restart changed."""
    specs = {s.name: s for s in await asyncio.to_thread(_specs_from_db)}
    for name in set(current) - set(specs):
        broker.remove(name)
        del current[name]
    for name, spec in specs.items():
        if current.get(name) == spec:
            continue
        source = source_for(spec, runtime)
        if name in broker.consoles:  # new credentials: same scrollback, log and viewers
            broker.consoles[name].ondemand = spec.ondemand
            broker.replace_source(name, source)
        else:
            log_file = ConsoleLog(
                settings.CONSOLES_DIR,
                name,
                max_bytes=settings.CONSOLE_LOG_MAX_BYTES,
                keep=settings.CONSOLE_LOG_KEEP,
            )
            broker.add(
                NodeConsole(
                    name, source, log_file=log_file, ondemand=spec.ondemand, on_state=on_state
                )
            )
        current[name] = spec


@_in_thread
def _specs_from_db() -> list[ConsoleSpec]:
    return console_specs()


class PortalHooks:
    """:class:`consoles.server.Hooks` backed by the audit trail and the Node table."""

    def _actor(self, ticket: tickets.Ticket, remote: str | None) -> audit.Actor:
        return audit.Actor(ticket.user_id, ticket.username, remote, "console websocket")

    def _each_node(
        self, verb: str, ticket: tickets.Ticket, remote: str | None, message: str
    ) -> None:
        """One audit row per node of the ticket (a wall opens many consoles at once)."""
        for node in ticket.nodes:
            audit.record(
                verb,
                actor=self._actor(ticket, remote),
                object_type="node",
                object_name=node,
                message=message,
            )

    @_in_thread
    def opened(self, ticket: tickets.Ticket, remote: str | None) -> None:
        self._each_node("console.open", ticket, remote, f"mode {ticket.mode}")

    @_in_thread
    def closed(self, ticket: tickets.Ticket, remote: str | None, refused_inputs: int) -> None:
        extra = f", {refused_inputs} input frames refused" if refused_inputs else ""
        self._each_node("console.close", ticket, remote, f"mode {ticket.mode}{extra}")

    @_in_thread
    def input_refused(self, ticket: tickets.Ticket, node: str, remote: str | None) -> None:
        audit.record(
            "console.input",
            actor=self._actor(ticket, remote),
            object_type="node",
            object_name=node,
            outcome="denied",
            message="read-only console ticket: input refused",
        )

    @_in_thread
    def statuses(self, nodes: list[str]) -> dict[str, str]:
        rows = Node.objects.filter(name__in=nodes).values_list("name", "status")
        return {name: status or Node.Status.UNKNOWN.label for name, status in rows}


def parse_when(text: str) -> float:
    """A log lookup time: ISO 8601 (naive means the portal's time zone) or ``HH:MM`` today."""
    from django.utils import timezone

    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(p) for p in text.split(":"))
            value = timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)
        else:
            value = dt.datetime.fromisoformat(text)
            if timezone.is_naive(value):
                value = timezone.make_aware(value)
    except ValueError as exc:
        raise ValueError(f"not a time: {text!r} (use 2026-11-26T10:42 or 10:42)") from exc
    return value.timestamp()
