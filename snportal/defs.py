"""Object types behind xCAT's definition verbs (lsdef, mkdef, chdef, rmdef).

One set of commands serves every object type, as in xCAT: ``lsdef -t node``, ``lsdef -t
osimage``, ``mkdef -z`` with a stanza file that mixes nodes, groups and osimages. Each app
registers a :class:`DefType` for its objects (``nodes.defs``, ``images.defs``); the commands
parse xCAT's arguments and dispatch here, and the web views call the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from snportal.audit import Actor
from snportal.lib.stanza import Stanza


class DefError(ValueError):
    """A definition cannot be listed or changed; the message says what to fix."""


@dataclass
class ApplyReport:
    """What a mkdef/chdef/rmdef did: created/changed/removed names and skipped attributes."""

    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # "node01: unknown attribute 'foo' skipped" — reported by name, never a crash.
    warnings: list[str] = field(default_factory=list)


class DefType(Protocol):
    """What an app implements for one xCAT object type."""

    objtype: str

    def resolve(self, spec: str | None, *, allow_files: bool = False) -> list[str]:
        """The object names ``spec`` means (a noderange for nodes, a name for others);
        all objects when ``spec`` is None. Raises DefError naming unknown objects."""
        ...

    def to_stanzas(
        self,
        names: Sequence[str],
        *,
        long: bool,
        reveal_secrets: bool = False,
        files_dir: Path | None = None,
    ) -> list[Stanza]:
        """The objects as stanzas (``long``: every attribute, else the short list form).

        Multi-line attributes (an osimage's pkglist, postinstall…) cannot sit in a stanza:
        they are written as files under ``files_dir`` (``lsdef -z --files-dir DIR``) and the
        stanza names their paths, as xCAT's own osimage definitions do."""
        ...

    def apply(
        self, stanzas: Sequence[Stanza], *, replace: bool, change_only: bool, actor: Actor
    ) -> ApplyReport:
        """Create or update objects, all or nothing, audited (mkdef -z / chdef -z)."""
        ...

    def change(
        self, names: Sequence[str], attrs: Mapping[str, str], *, actor: Actor
    ) -> ApplyReport:
        """Set attributes on existing objects, all or nothing, audited (chdef)."""
        ...

    def remove(self, names: Sequence[str], *, actor: Actor) -> ApplyReport:
        """Delete objects, all or nothing, audited (rmdef)."""
        ...


_REGISTRY: dict[str, DefType] = {}


def register(deftype: DefType) -> DefType:
    _REGISTRY[deftype.objtype] = deftype
    return deftype


def get(objtype: str) -> DefType:
    try:
        return _REGISTRY[objtype]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise DefError(f"unknown object type {objtype!r}; known types: {known}") from None


def types() -> list[str]:
    return sorted(_REGISTRY)
