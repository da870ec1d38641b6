"""What the apps built on the node app add to it, installed in their ``AppConfig.ready``.

The node app sits below the apps that build on it (``hierarchy``: service nodes;
``consoles``: console logs), so it imports none of them (``.importlinter``: no cycles
between apps). Where node code needs their answer, it calls a hook on :data:`hooks`; they
install theirs when Django starts. Without them the defaults are a flat cluster's: no
service node, no enrolment, no console text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings

if TYPE_CHECKING:
    from nodes.models import Node

__all__ = ["ArtifactUnavailable", "Hooks", "hooks"]


class ArtifactUnavailable(Exception):
    """A boot artifact cannot be had here now (a service node's cache could not fetch it)."""


def own_or_portal(nodes: Iterable[Node], *, portal: str | None = None) -> dict[str, str]:
    """Each node's xcatmaster: its own, else ``portal`` (default: SNPORTAL_BOOT_URL's host)."""
    default = (urlsplit(settings.BOOT_URL).hostname or "") if portal is None else portal
    return {n.name: n.xcatmaster or default for n in nodes}


def no_derivation(servicenodes: Iterable[str]) -> dict[str, str]:
    """Without service nodes, no ``servicenode`` text derives an xcatmaster."""
    return dict.fromkeys(set(servicenodes), "")


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def _no_kernel_args(node: Node) -> str:
    return ""


def _no_console_text(directory: Path, node: str, when: float, length: int = 8192) -> bytes:
    return b""


def _no_cache(version_id: int, filename: str) -> Path:
    raise ArtifactUnavailable("this portal keeps no artifact cache")


@dataclass
class Hooks:
    """The hooks; each field holds a callable another app may replace."""

    #: ``xcatmasters(nodes, *, portal=None) -> {name: xcatmaster}`` (hierarchy.routing)
    xcatmasters: Callable[..., dict[str, str]] = own_or_portal
    #: ``derived_for(servicenode texts) -> {text: derived xcatmaster or ""}``
    derived_for: Callable[[Iterable[str]], dict[str, str]] = no_derivation
    #: ``nodeset_done(nodes, currstate, *, actor)``: after nodeset (hierarchy.enrol arms)
    nodeset_done: Callable[..., None] = _nothing
    #: ``kernel_args(node) -> " key=value…"`` appended to a netboot kernel command line
    kernel_args: Callable[[Node], str] = _no_kernel_args
    #: ``cached_artifact(version id, filename) -> Path`` on a service node (hierarchy.cache)
    cached_artifact: Callable[[int, str], Path] = _no_cache
    #: ``console_text(directory, node, unix time, length=) -> bytes`` (consoles.capture)
    console_text: Callable[..., bytes] = _no_console_text
    #: extra node-facing URL patterns under ``/boot/`` (hierarchy: ``enrol``)
    boot_patterns: list[Any] = field(default_factory=list)


hooks = Hooks()
