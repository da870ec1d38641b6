"""The ``servicenode`` object type of lsdef/mkdef/chdef/rmdef (see snportal.defs).

A service node is first a node (``mkdef -t node -o sn01 groups=service …``); this type
holds what only a service node has: where it serves its compute nodes. Liveness and
enrolment (heartbeat, version, enrolled, state) are listed read-only: the agent writes
them, ``mkdef -z`` of an export accepts them back silently.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from hierarchy import services
from hierarchy.models import ServiceNode
from nodes import noderange
from snportal import audit, events
from snportal.defs import ApplyReport, DefError
from xcat.stanza import Stanza

_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def _address(value: str) -> str:
    """An IPv4 interface address with prefix on the compute network: 192.168.78.1/24."""
    text = value.strip()
    if not text:
        return ""
    if "/" not in text:
        raise ValueError(f"{text!r} has no prefix length: write it as 192.168.78.1/24")
    try:
        iface = ipaddress.IPv4Interface(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 address with prefix (192.168.78.1/24)") from None
    if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise ValueError(f"{text!r} is the network's own or broadcast address; pick a host")
    return str(iface)


def _mac(value: str) -> str:
    text = value.strip().lower().replace("-", ":")
    if text and not _MAC.fullmatch(text):
        raise ValueError(f"{value!r} is not a MAC address (write it as aa:bb:cc:dd:ee:ff)")
    return text


def _range(value: str) -> str:
    text = value.strip()
    if not text:
        return ""
    start, sep, end = text.partition(",")
    try:
        low, high = ipaddress.IPv4Address(start.strip()), ipaddress.IPv4Address(end.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not START,END IPv4 addresses (192.168.78.100,192.168.78.199)"
        ) from None
    if not sep or low > high:
        raise ValueError(f"{text!r}: START must not be after END")
    return f"{low},{high}"


def _console(value: str) -> str:
    text = value.strip()
    if text and not re.fullmatch(r"wss?://[^\s/]+(/\S*)?", text):
        raise ValueError(f"{text!r} is not a ws:// or wss:// URL (ws://127.0.0.1:8101)")
    return text


#: Attribute → (model field, parser). Names follow xCAT's flat lower-case style.
ATTRS: dict[str, tuple[str, Callable[[str], str]]] = {
    "address": ("address", _address),
    "computemac": ("compute_mac", _mac),
    "dhcprange": ("dhcp_range", _range),
    "consoleurl": ("console_url", _console),
}
READ_ONLY = ("heartbeat", "version", "enrolled", "state", "nodes")


def _time(value: object) -> str:
    return timezone.localtime(value).strftime("%m-%d-%Y %H:%M:%S") if value else ""


def attrs_of(sn: ServiceNode, counts: Mapping[str, int] | None = None) -> dict[str, str]:
    """A service node as lsdef shows it (read-only fields last)."""
    return {
        "address": sn.address,
        "computemac": sn.compute_mac,
        "dhcprange": sn.dhcp_range,
        "consoleurl": sn.console_url,
        "heartbeat": _time(sn.heartbeat),
        "version": sn.version,
        "enrolled": _time(sn.enrolled_at),
        "state": sn.state,
        "nodes": str((counts or {}).get("any", "")),
    }


class ServiceNodeDefs:
    """Service nodes, named by noderange over the members of group ``service``."""

    objtype = "servicenode"
    attributes = (*ATTRS, *READ_ONLY)

    def resolve(self, spec: str | None, *, allow_files: bool = False) -> list[str]:
        known = services.service_node_names()
        if spec is None:
            return known
        names = self.new_names(spec)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DefError(
                f"not service nodes: {noderange.compress(unknown)} (a service node is a node "
                "in group service: chdef -t node -o NAME -p groups=service)"
            )
        return names

    def new_names(self, spec: str) -> list[str]:
        try:
            noderange.expand(spec, nodes=[], groups={})
        except noderange.UnknownNodesError as e:
            return sorted(set(e.names), key=noderange.natural_key)
        except noderange.NoderangeError as e:
            raise DefError(str(e)) from None
        return []

    def to_stanzas(
        self,
        names: Sequence[str],
        *,
        long: bool,
        reveal_secrets: bool = False,
        files_dir: Path | str | None = None,
    ) -> list[Stanza]:
        if not long:
            return [Stanza(name, self.objtype) for name in names]
        rows = {
            sn.node.name: sn
            for sn in ServiceNode.objects.select_related("node").filter(node__name__in=names)
        }
        counts = services.node_counts()
        stanzas = []
        for name in names:
            sn = rows.get(name) or services.get_servicenode(name)
            attrs = attrs_of(sn, counts.get(name))
            stanzas.append(Stanza(name, self.objtype, {k: v for k, v in attrs.items() if v}))
        return stanzas

    def apply(
        self, stanzas: Sequence[Stanza], *, replace: bool, change_only: bool, actor: audit.Actor
    ) -> ApplyReport:
        return _save([(s.name, s.attrs) for s in stanzas], replace=replace, actor=actor)

    def change(
        self, names: Sequence[str], attrs: Mapping[str, str], *, actor: audit.Actor
    ) -> ApplyReport:
        return _save([(n, attrs) for n in names], replace=False, actor=actor)

    def remove(self, names: Sequence[str], *, actor: audit.Actor) -> ApplyReport:
        """Forget the service-node side (address, credentials); the node stays."""
        report = ApplyReport()
        with transaction.atomic():
            for sn in ServiceNode.objects.select_related("node").filter(node__name__in=names):
                audit.record(
                    "servicenode.delete", actor=actor, obj=sn, before=attrs_of(sn), after=None
                )
                report.removed.append(sn.name)
                sn.delete()
        return report


def _save(
    changes: Sequence[tuple[str, Mapping[str, str]]], *, replace: bool, actor: audit.Actor
) -> ApplyReport:
    """Validate every change first (all or nothing), then write and audit each."""
    report = ApplyReport()
    problems: list[str] = []
    plans: list[tuple[ServiceNode, dict[str, str], bool]] = []
    changed: list[str] = []
    for name, given in changes:
        try:
            sn = services.get_servicenode(name)
        except DefError as e:
            problems.append(str(e))
            continue
        values: dict[str, str] = {}
        for attr, text in given.items():
            if attr in READ_ONLY:
                continue
            if attr not in ATTRS:
                report.warnings.append(f"{name}: unknown attribute {attr!r} skipped")
                continue
            try:
                values[attr] = ATTRS[attr][1](text)
            except ValueError as e:
                problems.append(f"{name}: {attr}: {e}")
        plans.append((sn, values, not (sn.address or sn.compute_mac or sn.heartbeat)))
    if problems:
        raise DefError("\n".join(problems))
    with transaction.atomic():
        for sn, values, fresh in plans:
            before = attrs_of(sn)
            for attr, (field, _parse) in ATTRS.items():
                if attr in values:
                    setattr(sn, field, values[attr])
                elif replace:
                    setattr(sn, field, "")
            sn.save()
            old, new = audit.diff(before, attrs_of(sn))
            (report.created if fresh and new else report.changed).append(sn.name)
            if new:
                changed.append(sn.name)
                audit.record(
                    "servicenode.create" if fresh else "servicenode.update",
                    actor=actor,
                    obj=sn,
                    before=old or None,
                    after=new,
                )
        if changed:
            # The agents re-read their configuration (DHCP, interface) on this event.
            events.publish("servicenode", names=changed, reason="definition")
    return report
