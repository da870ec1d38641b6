"""The node attributes that ``lsdef``/``mkdef``/``chdef``, CSV import and forms share.

xCAT's attribute names (``mac``, ``bmc``, ``provmethod``…) and their text forms are what
operators type and what stanza files carry, so each attribute is parsed from text and
formatted back to text here, once. A failure is an :class:`AttributeProblem` whose message
names the attribute, so a form, a CSV row and ``mkdef -z`` all say ``mac: …``.

Pure module: no database. ``provmethod`` (an osimage name) and uniqueness are checked by
:mod:`nodes.services`, which can query.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nodes.models import Node

__all__ = [
    "ATTRS",
    "READ_ONLY",
    "KEYWORDS",
    "AttributeProblem",
    "NodeAttr",
    "check_name",
    "parse",
    "reserved_names",
    "split_bmc",
]

DEFAULT_BMC_PORT = 623
#: Names that are no page but still cannot be a node or group: ``all`` is the implicit
#: group of every node.
KEYWORDS = frozenset({"all"})
#: URL namespaces whose pages take a node or group name as their first segment
#: (``/nodes/<name>/``, ``/nodes/groups/<name>/``, ``/consoles/<name>/``, ``/hierarchy/<name>/``).
NAME_NAMESPACES = ("nodes", "consoles", "hierarchy")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_MAC = re.compile(r"[0-9a-f]{2}([:-]?)[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}")
_HOST = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


class AttributeProblem(ValueError):
    """One attribute value that cannot be stored; ``str()`` starts with the attribute."""

    def __init__(self, attr: str, message: str) -> None:
        self.attr = attr
        self.message = message
        super().__init__(f"{attr}: {message}")


def check_name(name: str) -> None:
    """A node or group name: what noderanges and URLs can carry."""
    if not _NAME.fullmatch(name):
        raise AttributeProblem(
            "name",
            f"{name!r} is not a valid name: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 100 characters",
        )
    if name in reserved_names():
        raise AttributeProblem("name", f"{name!r} is reserved; choose another name")


@functools.cache
def reserved_names() -> frozenset[str]:
    """:data:`KEYWORDS` and every fixed path segment that sits where a name would in
    :data:`NAME_NAMESPACES` (``new``, ``bulk-edit``, ``groups``, ``wall``, …).

    Read from the URL patterns themselves: a segment is reserved when a sibling pattern
    with the same prefix takes a parameter there (``nodes/new/`` beside ``nodes/<name>/``),
    so a page added next to a name can never shadow a node's or group's page.
    """
    from django.urls import URLPattern, URLResolver, get_resolver

    routes: list[list[str]] = []

    def collect(patterns: list, prefix: list[str]) -> None:
        for pattern in patterns:
            segments = prefix + [s for s in str(pattern.pattern).split("/") if s]
            if isinstance(pattern, URLResolver):
                collect(pattern.url_patterns, segments)
            elif isinstance(pattern, URLPattern):
                routes.append(segments)

    for top in get_resolver().url_patterns:
        if isinstance(top, URLResolver) and top.namespace in NAME_NAMESPACES:
            collect(top.url_patterns, [])
    named = {(tuple(r[:i]), i) for r in routes for i, s in enumerate(r) if s.startswith("<")}
    fixed = {
        s for r in routes for i, s in enumerate(r) if "<" not in s and (tuple(r[:i]), i) in named
    }
    return KEYWORDS | fixed


def _mac(value: str) -> str:
    low = value.strip().lower()
    if not _MAC.fullmatch(low):
        raise ValueError(f"{value!r} is not a MAC address (write it as aa:bb:cc:dd:ee:ff)")
    digits = re.sub(r"[:-]", "", low)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _ip(value: str) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address (e.g. 10.0.0.11)") from None


def split_bmc(value: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` → (host, port); ValueError when malformed."""
    text = value.strip()
    port = DEFAULT_BMC_PORT
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{value!r} is not host or host:port")
        port_text = rest[1:] if rest else ""
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} in brackets is not an IPv6 address") from None
    else:
        host, sep, port_text = text.partition(":")
        if sep and not port_text:
            raise ValueError(f"{value!r} has an empty port")
        if not _HOST.fullmatch(host):
            raise ValueError(f"{value!r} is not host or host:port (e.g. 10.1.0.11 or bmc1:623)")
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    return host, port


def _bmc(value: str) -> str:
    if not value.strip():
        return ""
    split_bmc(value)
    return value.strip()


def _groups(value: str) -> list[str]:
    """xCAT's comma list, order kept, ``all`` included where it was given.

    Every node is in ``all`` whether or not it is listed, but xCAT prints the list as it
    was given (``groups=all,aix`` stays ``all,aix``), so its place is kept too.
    """
    names: list[str] = []
    for part in value.split(","):
        name = part.strip()
        if not name or name in names:
            continue
        if not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid group name")
        names.append(name)
    return names


def _servicenode(value: str) -> str:
    """xCAT's ordered list of service nodes, primary first: ``sn01,sn02``.

    Names and duplicates are checked here; that each one is a service node (a node in
    group ``service``) and not the node itself needs the database: nodes.services.
    """
    names: list[str] = []
    for part in value.split(","):
        name = part.strip()
        if not name:
            continue
        if not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid node name")
        if name in names:
            raise ValueError(f"{name} is listed twice; list each service node once")
        names.append(name)
    text = ",".join(names)
    if len(text) > 100:
        raise ValueError("longer than 100 characters")
    return text


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in allowed:
            shown = ", ".join(repr(a) if a else "empty" for a in allowed)
            raise ValueError(f"{value!r} is not supported; use {shown}")
        return value

    return parse


def _number(low: int, high: int) -> Callable[[str], int | None]:
    def parse(value: str) -> int | None:
        if not value.strip():
            return None
        if not value.strip().isdigit() or not low <= int(value) <= high:
            raise ValueError(f"{value!r} is not a number from {low} to {high}")
        return int(value)

    return parse


def _text(limit: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"longer than {limit} characters")
        if "\x00" in value:
            # PostgreSQL text cannot hold it; the web form refuses it too.
            raise ValueError("contains a NUL character (\\x00); remove it")
        return value

    return parse


@dataclass(frozen=True)
class NodeAttr:
    """One xCAT node attribute: the model field it lands in and how its text is read."""

    name: str
    field: str
    parse: Callable[[str], Any]
    help: str = ""


ATTRS: dict[str, NodeAttr] = {
    a.name: a
    for a in (
        NodeAttr("groups", "groups", _groups, "comma-separated, in order; every node is in 'all'"),
        NodeAttr("mac", "mac", lambda v: _mac(v) if v.strip() else "", "aa:bb:cc:dd:ee:ff"),
        NodeAttr("ip", "ip", _ip, "IPv4 address"),
        NodeAttr("bmc", "bmc", _bmc, "host or host:port (port 623 by default)"),
        NodeAttr("bmcusername", "bmcusername", _text(64)),
        NodeAttr("bmcpassword", "bmcpassword", _text(200), "stored encrypted, never shown"),
        NodeAttr("mgt", "mgt", _choice("ipmi")),
        NodeAttr("cons", "cons", _choice("ipmi", "")),
        NodeAttr("serialport", "serialport", _number(0, 32)),
        NodeAttr("serialspeed", "serialspeed", _number(300, 4_000_000)),
        NodeAttr("netboot", "netboot", _choice("ipxe", "xnba")),
        NodeAttr("provmethod", "osimage", str.strip, "osimage name"),
        NodeAttr(
            "servicenode",
            "servicenode",
            _servicenode,
            "service nodes, primary first (sn01,sn02); each a node in group service",
        ),
        NodeAttr("xcatmaster", "xcatmaster", _text(255)),
        NodeAttr("installnic", "installnic", _text(32)),
        NodeAttr(
            "status",
            "status",
            _choice(*Node.Status.values),
        ),
        NodeAttr("currstate", "currstate", _text(200)),
        NodeAttr("comments", "comments", _text(10_000)),
    )
}

#: Shown by ``lsdef -l`` and accepted back silently by ``mkdef -z`` (a round trip of an
#: export must not warn), but set only by the portal itself.
READ_ONLY = ("statustime",)


def parse(attr: str, value: str) -> Any:
    """The stored value of ``attr`` given as text, or :class:`AttributeProblem`."""
    try:
        return ATTRS[attr].parse(value)
    except ValueError as e:
        raise AttributeProblem(attr, str(e)) from None
