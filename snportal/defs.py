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
from xcat.stanza import Stanza

# How chdef changes an attribute: set it, append to its comma list (-p), remove from it (-m).
SET, PLUS, MINUS = "set", "plus", "minus"


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
    # Objects skipped with xCAT's message (mkdef of an existing object…): the rest was
    # written, and the command exits non-zero as xCAT's does.
    errors: list[str] = field(default_factory=list)
    # Objects that chdef created because they did not exist (xCAT tells them apart).
    new: list[str] = field(default_factory=list)


def already_exists(name: str) -> list[str]:
    """xCAT's mkdef lines for an object that exists (it is skipped, the rest created)."""
    return [
        f"A definition for '{name}' already exists.",
        "To remove the old definition and replace it with a new definition use the force "
        "'-f' option.",
        "To change the existing definition use the 'chdef' command.",
    ]


def edit_list(name: str, attr: str, current: str, given: str, op: str, warnings: list[str]) -> str:
    """chdef -p/-m on a comma list, as xCAT's setobjdefs: ``-p`` appends what is not there
    yet, ``-m`` removes and warns about what was not there."""
    items = [i for i in current.split(",") if i]
    change = [i for i in given.split(",") if i]
    if op == PLUS:
        return ",".join(items + [i for i in dict.fromkeys(change) if i not in items])
    for item in change:
        if item not in items:
            warnings.append(
                f"{item} is not in the attribute of '{attr}' for the '{name}' definition."
            )
    return ",".join(i for i in items if i not in change)


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
        raise DefError(
            f"Type '{objtype}' is not a valid xCAT object type (known types: {known})."
        ) from None


def types() -> list[str]:
    return sorted(_REGISTRY)
