"""One validation error type for every app: the input was refused for listed reasons.

Nodes (``nodes.services.NodeDataError``) and osimages (``images.services.DefinitionError``)
both refuse a change as a whole and name every reason; they subclass ``ValidationProblems``
so callers (views, the CLI, the stanza importer) can treat any app's refusal the same way:
``problems`` to show one by one, ``by_attr()`` to put them on form fields, ``str()`` for one
message. Each app keeps its own message layout (``separator``) so no output changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a change was refused: which object, which attribute, what is wrong.

    ``name`` or ``attr`` may be empty (the whole request, the whole object).
    """

    name: str
    attr: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.name, self.attr, self.message) if part)


class ValidationProblems(ValueError):
    """Input refused; ``problems`` lists every reason and nothing was written."""

    # How the problems join into the exception's message.
    separator = "\n"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.separator.join(str(p) for p in self.problems))

    def by_attr(self) -> dict[str, list[str]]:
        """Messages keyed by attribute ("" for the object as a whole), in order."""
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.attr, []).append(p.message)
        return out
