"""Where a node's work runs: on its service node's cluster, or on the management node.

xCAT sends a command for a node to the node's service node (``servicenode``: primary
first, then backups), because only the service node reaches the node's BMC and network.
Here every service node runs its own django-q2 cluster named like the node (``sn01``), so
routing is choosing a queue: :func:`plan` splits a list of node names into parts per
cluster, taking for each node the first service node in its list whose heartbeat is fresh
(failover to a backup is that simple), and fails at once, with the reason, the nodes whose
service nodes are all silent — work queued to a dead service node would wait for ever.

:func:`xcatmaster` is xCAT's derived attribute: the address a node reaches "its master"
at — its primary service node's compute-network address, or the portal itself.

Both read the database in a constant number of queries, whatever the number of nodes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from snportal.jobs import mn_cluster

if TYPE_CHECKING:
    from hierarchy.models import ServiceNode
    from nodes.models import Node

__all__ = ["SERVICE_GROUP", "mn_cluster", "plan", "xcatmaster", "xcatmasters"]

#: The group whose members are service nodes (xCAT's convention).
SERVICE_GROUP = "service"
_CHUNK = 5000


def heartbeat_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "SN_HEARTBEAT_TIMEOUT", 30))


def split_list(value: str) -> list[str]:
    """``"sn01, sn02"`` → ``["sn01", "sn02"]`` (order kept, blanks dropped)."""
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def is_fresh(sn: ServiceNode | None, now: datetime | None = None) -> bool:
    """True if the service node's agent said it is alive recently and it is not revoked."""
    if sn is None or sn.heartbeat is None or sn.revoked_at is not None:
        return False
    return sn.heartbeat >= (now or timezone.now()) - heartbeat_timeout()


def _silence(name: str, sn: ServiceNode | None) -> str:
    """Why one service node cannot take work, in words an operator can act on."""
    if sn is None:
        return f"{name} is not a defined service node (mkdef -t servicenode -o {name})"
    if sn.revoked_at is not None:
        return f"{name} was revoked"
    if sn.heartbeat is None:
        return f"{name} has never sent a heartbeat (is it enrolled and its agent running?)"
    return f"{name} has no heartbeat since {timezone.localtime(sn.heartbeat):%Y-%m-%d %H:%M:%S}"


def _servicenodes(names: Iterable[str]) -> dict[str, ServiceNode]:
    from hierarchy.models import ServiceNode

    wanted = sorted(set(names))
    if not wanted:
        return {}
    return {
        sn.node.name: sn
        for sn in ServiceNode.objects.select_related("node").filter(node__name__in=wanted)
    }


def _servicenode_lists(names: Sequence[str]) -> dict[str, list[str]]:
    from nodes.models import Node

    lists: dict[str, list[str]] = {}
    for start in range(0, len(names), _CHUNK):
        chunk = list(names[start : start + _CHUNK])
        for name, value in Node.objects.filter(name__in=chunk).values_list("name", "servicenode"):
            lists[name] = split_list(value)
    return lists


def plan(names: Sequence[str]) -> tuple[dict[str | None, list[str]], dict[str, str]]:
    """Split ``names`` by where their work runs.

    Returns ``(parts, failed)``: ``parts`` maps a service node's name (its cluster) to its
    nodes, ``None`` to the nodes the management node serves; ``failed`` maps a node to the
    reason none of its service nodes can take work. Order of nodes is kept in each part.
    Two queries for any number of nodes (plus one per 5,000 names).
    """
    lists = _servicenode_lists(names)
    sns = _servicenodes(sn for chain in lists.values() for sn in chain)
    now = timezone.now()
    alive = {name for name, sn in sns.items() if is_fresh(sn, now)}
    parts: dict[str | None, list[str]] = {}
    failed: dict[str, str] = {}
    for name in names:
        chain = lists.get(name, [])
        if not chain:
            parts.setdefault(None, []).append(name)
            continue
        chosen = next((sn for sn in chain if sn in alive), None)
        if chosen is not None:
            parts.setdefault(chosen, []).append(name)
            continue
        why = "; ".join(f"service node {_silence(sn, sns.get(sn))}" for sn in chain)
        tail = "no backup is alive" if len(chain) == 1 else "none of its service nodes is alive"
        failed[name] = f"{why}; {tail}"
    return parts, failed


def _address_ip(address: str) -> str:
    """``192.168.78.1/24`` → ``192.168.78.1`` ("" if it is not an interface address)."""
    try:
        return str(ipaddress.ip_interface(address.strip()).ip) if address.strip() else ""
    except ValueError:
        return ""


def portal_host() -> str:
    """The portal as nodes without a service node reach it (host of SNPORTAL_BOOT_URL)."""
    return urlsplit(settings.BOOT_URL).hostname or ""


def xcatmasters(nodes: Iterable[Node], *, portal: str | None = None) -> dict[str, str]:
    """Each node's xcatmaster: its own if set, else derived (one query for all nodes).

    ``portal`` is what nodes without a (addressed) service node get: the portal's host
    by default; ``""`` lets a caller tell "the portal" apart.
    """
    nodes = list(nodes)
    primaries = {n.name: split_list(n.servicenode)[:1] for n in nodes if not n.xcatmaster}
    sns = _servicenodes(p[0] for p in primaries.values() if p)
    portal = portal_host() if portal is None else portal
    result: dict[str, str] = {}
    for node in nodes:
        if node.xcatmaster:
            result[node.name] = node.xcatmaster
            continue
        primary = primaries[node.name]
        sn = sns.get(primary[0]) if primary else None
        result[node.name] = (_address_ip(sn.address) if sn is not None else "") or portal
    return result


def derived_for(servicenodes: Iterable[str]) -> dict[str, str]:
    """``servicenode`` text → the xcatmaster it derives ("" for none), one query."""
    lists = {text: split_list(text)[:1] for text in set(servicenodes)}
    sns = _servicenodes(p[0] for p in lists.values() if p)
    return {
        text: _address_ip(sns[p[0]].address) if p and p[0] in sns else ""
        for text, p in lists.items()
    }


def xcatmaster(node: Node) -> str:
    """The node's xcatmaster: its attribute if set, else its primary service node's
    compute-network address, else the portal (SNPORTAL_BOOT_URL's host)."""
    return xcatmasters([node])[node.name]


def derived(node: Node) -> bool:
    """True if the node's xcatmaster is derived (so exports keep it empty)."""
    return not node.xcatmaster
