"""xCAT's noderange grammar, as a pure module (no Django, no database).

Operators typing ``rpower rack1,-node03 on`` expect exactly what xCAT would do, so this
follows xCAT's ``NodeRange.pm`` and the ``noderange(3)`` man page:

* ``a,b`` union; ``a@b`` intersection (binds tighter than ``,``); ``( … )`` grouping;
* ``-x`` at the start of an element excludes; exclusions are applied after every
  inclusion of the same level, so ``node1-node10,-node3-node5,node4`` has no node4;
* a plain name is a node if one exists, otherwise a group (nodes win over groups);
  ``all`` is every node unless a group of that name is given;
* ranges ``node01-node10``, ``node01:node10``, ``node[01-10]``, ``node[1,3,5-7]``,
  ``f[1-2]n[1-3]`` (cartesian), ``node10+3`` (node10 … node13, as xCAT's man page
  says) and the numeric shorthand ``10-20`` for ``node10-node20``; zero padding follows
  the first number; every generated name must be a node or a group;
* ``/regex`` is matched in full against node names, or, when no node matches, against
  group names (the members of the matching groups are returned); regexes use RE2's
  syntax (Perl's, less backreferences and lookaround), which matches in linear time;
* ``attr==val``, ``attr!=val``, ``attr=~re``, ``attr!~re`` (and xCAT's ``attr=val``)
  select among all nodes through the ``attrs`` callable; ``=~`` searches, like xCAT;
* ``^/path`` reads noderanges from a file, one per line (only with ``allow_files``,
  which the CLI sets and the web never does).

Names that match nothing raise :class:`UnknownNodesError` with all of them at once
(xCAT: "Invalid nodes and/or groups in noderange"); bad syntax raises
:class:`NoderangeSyntaxError` with the 1-based column.

Anyone who may read the node list may type a noderange, so its cost is bounded before any
list is built: every name a noderange generates or examines (range members, group
members, each node a regex or selector tests, in exclusions and ``^file`` lines too)
counts against ``max_names``, and going over it raises :class:`NoderangeTooLargeError`
at once. The text itself, each regex and each ``^file`` are capped in size.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import re2

__all__ = [
    "DEFAULT_MAX_NAMES",
    "MAX_FILE_BYTES",
    "MAX_PATTERN_CHARS",
    "MAX_TEXT_CHARS",
    "NoderangeError",
    "NoderangeSyntaxError",
    "NoderangeTooLargeError",
    "UnknownNodesError",
    "compress",
    "expand",
    "natural_key",
]

#: The most names one noderange may generate or examine in total (SNPORTAL_NODERANGE_MAX
#: overrides it for the portal). Ten times a large cluster, small enough that a typo such
#: as ``node[1-999999999]`` or a hostile ``r[1-99999],s[1-99999],…`` fails in milliseconds.
DEFAULT_MAX_NAMES = 100_000
#: The longest noderange text: a pasted list of 50,000 names fits; parsing it stays cheap.
MAX_TEXT_CHARS = 1_048_576
#: The longest ``/regex`` or selector regex; longer ones are never typed by a person.
MAX_PATTERN_CHARS = 512
#: The largest ``^file`` (CLI only) read; a larger one, or /dev/zero, is refused unread.
MAX_FILE_BYTES = 4 * 1024 * 1024

#: xCAT prefixes bare numbers with ``node`` (``10-20`` means ``node10-node20``).
NUMERIC_PREFIX = "node"

# Nesting beyond this is never meant; it would only exhaust Python's recursion limit.
_MAX_DEPTH = 32
# Longer digit runs cannot be a range bound anyone means, and int() refuses huge ones.
_MAX_DIGITS = 18
# Messages quote at most this much of the user's text, so a megabyte of input is not echoed.
_QUOTE_CHARS = 60
# RE2 compiles within this much memory (a larger program is refused, never slow) and keeps
# its errors to itself: they are reported as NoderangeSyntaxError instead of on stderr.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 1 << 20
_RE2_OPTIONS.log_errors = False

_DIGIT_RUNS = re.compile(r"([0-9]+)")
_LONG_NUMBER = re.compile(rf"[0-9]{{{_MAX_DIGITS + 1},}}")
# The characters that end or nest an atom; the scanner jumps from one to the next.
_ATOM_SPECIAL = re.compile(r"[\\\[\](),@]")
_SELECTOR = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)(==|!=|=~|!~|=)(.*)", re.DOTALL)
_NUMERIC = re.compile(r"[0-9]+(?:[-:+][0-9]+)?")
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_BRACKET_ITEM = re.compile(r"([0-9]+)(?:[-:]([0-9]+))?")
# The number before "+" is the last digit run of the left side (xCAT: ``f1n10+3``).
_PLUS = re.compile(r"((?:.*[^0-9])?)([0-9]+)([^0-9+]*)\+([0-9]+)", re.DOTALL)
# Names compress() may fold into a dash range that expand() reads back unchanged.
_RANGEABLE = re.compile(rf"([A-Za-z0-9_.-]*[A-Za-z_.-])([0-9]{{1,{_MAX_DIGITS}}})([A-Za-z_.-]*)")
# xCAT keeps only the first word of each line of a ^file ("node01: on" → node01).
_FILE_TOKEN = re.compile(r"[^:\t ]*")


class NoderangeError(ValueError):
    """A noderange that cannot be expanded; ``str()`` is the message for the user."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"{message} (at column {column})")


class NoderangeSyntaxError(NoderangeError):
    """The text is not a noderange; ``column`` (1-based) points at the problem."""

    column: int

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message, column)


class NoderangeTooLargeError(NoderangeError):
    """The noderange would generate or examine more names than allowed: refused unbuilt."""


class UnknownNodesError(NoderangeError):
    """Names that are neither nodes nor groups, all of them (``names``), in input order."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        super().__init__(f"Invalid nodes and/or groups in noderange: {compress(self.names)}")


def natural_key(name: str) -> tuple[tuple[object, ...], str]:
    """Sort key that puts node2 before node10 and keeps node01 and node1 distinct.

    Digit runs compare as numbers; a run too long for int() (thousands of digits, only
    ever a typo) sorts after all others instead of raising. The full name breaks ties
    between equal numbers spelled differently.
    """
    parts: list[object] = list(_DIGIT_RUNS.split(name))
    parts[1::2] = [int(run) if len(run) < 4000 else math.inf for run in parts[1::2]]
    return tuple(parts), name


def expand(
    expr: str,
    *,
    nodes: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    attrs: Callable[[str], Mapping[str, str]] | None = None,
    allow_files: bool = False,
    max_names: int = DEFAULT_MAX_NAMES,
) -> list[str]:
    """Return the node names ``expr`` selects, in natural order.

    ``groups`` maps a group name to its member node names. ``attrs(node)`` returns every
    attribute of a node that selectors may name (empty string when unset); without it,
    selectors are refused. ``allow_files`` permits ``^/path`` (CLI only). ``max_names``
    bounds the names generated or examined in total (see the module docstring).
    """
    budget = _Budget(max_names)
    tree = _Parser(expr, budget).parse()
    evaluator = _Evaluator(nodes, groups, attrs, allow_files, budget)
    selected = evaluator.union(tree)
    if evaluator.unknown:
        raise UnknownNodesError(list(evaluator.unknown))
    return sorted(selected, key=natural_key)


def compress(names: Iterable[str]) -> str:
    """Write names as a short noderange, e.g. ``node01-node10,other``.

    The reverse of :func:`expand` for job descriptions and messages: runs of three or
    more consecutive numbers become a dash range whose padding ``expand`` reproduces
    exactly; anything else is listed by name. Pieces come in natural order.
    """
    unique = set(names)
    pieces: list[tuple[str, str]] = []  # (first name, text)
    families: dict[tuple[str, str], list[str]] = {}
    for name in unique:
        match = _RANGEABLE.fullmatch(name)
        if match and not name.startswith("-"):
            families.setdefault((match[1], match[3]), []).append(match[2])
        else:
            pieces.append((name, name))
    for (prefix, suffix), numbers in families.items():
        for run in _consecutive_runs(numbers):
            first, last = prefix + run[0] + suffix, prefix + run[-1] + suffix
            text = f"{first}-{last}"
            # A node literally named like the range would be read back as itself.
            if len(run) >= 3 and text not in unique:
                pieces.append((first, text))
            else:
                pieces.extend((prefix + n + suffix,) * 2 for n in run)
    pieces.sort(key=lambda piece: natural_key(piece[0]))
    return ",".join(text for _, text in pieces)


def _consecutive_runs(numbers: list[str]) -> list[list[str]]:
    """Group digit strings into runs that ``start-end`` with start's padding regenerates."""
    runs: list[list[str]] = []
    waiting: dict[str, list[int]] = {}  # next digit string a run expects → run indexes
    for digits in sorted(numbers, key=lambda d: (int(d), len(d))):
        candidates = waiting.get(digits)
        if candidates:
            index = candidates.pop()
            if not candidates:
                del waiting[digits]
            runs[index].append(digits)
        else:
            index = len(runs)
            runs.append([digits])
        width = len(runs[index][0])
        waiting.setdefault(str(int(digits) + 1).zfill(width), []).append(index)
    return runs


def _quote(text: str) -> str:
    """``repr`` of the user's text, shortened: messages never echo a megabyte back."""
    if len(text) > _QUOTE_CHARS:
        text = text[: _QUOTE_CHARS - 1] + "…"
    return repr(text)


class _Budget:
    """Counts the names one expansion generates or examines; refuses going over the limit.

    Callers charge *before* they build a list, so a refused noderange costs only the
    arithmetic that sized it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, count: int, what: str, column: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise NoderangeTooLargeError(
                f"noderange too large: {what} brings it past {self.limit} names "
                "(counting range members, group members and the nodes each regex or "
                "selector tests); use fewer or narrower pieces",
                column,
            )


# --- parsing -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    text: str
    column: int


@dataclass(frozen=True)
class _Intersection:
    operands: tuple[_Expr, ...]


@dataclass(frozen=True)
class _Element:
    exclude: bool
    expr: _Expr


@dataclass(frozen=True)
class _Union:
    elements: tuple[_Element, ...]


_Expr = _Atom | _Intersection | _Union


class _Parser:
    """Recursive descent over ``union := ['-'] term (',' ['-'] term)*``,
    ``term := primary ('@' primary)*``, ``primary := '(' union ')' | atom``.

    Atoms are scanned whole (a regex or a selector value may hold brackets, commas in
    brackets, or balanced parentheses); what an atom means is decided at evaluation,
    because "is this a node name?" needs the inventory.
    """

    def __init__(self, text: str, budget: _Budget) -> None:
        self.text = text
        self.pos = 0
        self.budget = budget

    def parse(self) -> _Union:
        if len(self.text) > MAX_TEXT_CHARS:
            raise NoderangeTooLargeError(
                f"noderange is {len(self.text)} characters long; at most {MAX_TEXT_CHARS} "
                "are allowed (use groups or ranges instead of long lists)"
            )
        if not self.text.strip():
            raise NoderangeSyntaxError("empty noderange", 1)
        # Every atom counts one name; the separators bound the atoms from above, so a text of
        # a million commas is refused by one count instead of by parsing 100,000 atoms.
        separators = self.text.count(",") + self.text.count("@")
        if separators >= self.budget.limit - self.budget.used:
            raise NoderangeTooLargeError(
                f"noderange too large: {separators + 1} comma- or @-separated pieces; "
                f"at most {self.budget.limit} names are allowed"
            )
        tree = self._union(depth=0)
        self._skip_space()
        if self.pos < len(self.text):
            raise self._error("unmatched ')'")
        return tree

    def _union(self, depth: int) -> _Union:
        elements = []
        while True:
            self._skip_space()
            exclude = self._peek() == "-"
            if exclude:
                self.pos += 1
            elements.append(_Element(exclude, self._intersection(depth)))
            self._skip_space()
            if self._peek() != ",":
                return _Union(tuple(elements))
            self.pos += 1

    def _intersection(self, depth: int) -> _Expr:
        operands = [self._primary(depth)]
        self._skip_space()
        while self._peek() == "@":
            self.pos += 1
            operands.append(self._primary(depth))
            self._skip_space()
        return operands[0] if len(operands) == 1 else _Intersection(tuple(operands))

    def _primary(self, depth: int) -> _Expr:
        self._skip_space()
        char = self._peek()
        if char == "(":
            if depth >= _MAX_DEPTH:
                raise self._error("parentheses nested too deeply")
            opening = self.pos + 1
            self.pos += 1
            inner = self._union(depth + 1)
            self._skip_space()
            if self._peek() != ")":
                raise NoderangeSyntaxError("unclosed '('", opening)
            self.pos += 1
            return inner
        if char == "":
            raise self._error("expected a node, group or range at the end")
        if char in ",@)":
            raise self._error(f"expected a node, group or range before {char!r}")
        if char == "-":
            raise self._error("'-' (exclusion) may only start a comma-separated element")
        return self._atom()

    def _atom(self) -> _Atom:
        # Each atom is at least one name: counting them here stops a text of a million
        # commas before the tree is built.
        self.budget.charge(1, "the number of names and ranges", self.pos + 1)
        text, start = self.text, self.pos
        index, bracket, parens = start, None, []
        while True:
            special = _ATOM_SPECIAL.search(text, index)  # skip plain characters at C speed
            if special is None:
                index = len(text)
                break
            index = special.start()
            char = text[index]
            if char == "\\":  # a regex escape: the next character is never syntax
                index += 2
                continue
            if bracket is not None:
                if char == "]":
                    bracket = None
            elif char == "[":
                bracket = index
            elif char == "(":
                parens.append(index)
            elif char == ")":
                if not parens:
                    break
                parens.pop()
            elif char in ",@" and not parens:
                break
            index += 1
        index = min(index, len(text))
        if bracket is not None:
            raise NoderangeSyntaxError("unclosed '['", bracket + 1)
        if parens:
            raise NoderangeSyntaxError("unclosed '('", parens[-1] + 1)
        self.pos = index
        return _Atom(text[start:index].rstrip(), start + 1)

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _error(self, message: str) -> NoderangeSyntaxError:
        return NoderangeSyntaxError(message, self.pos + 1)


# --- evaluation --------------------------------------------------------------------


class _Evaluator:
    """Turns a parsed noderange into a set of node names against one inventory."""

    def __init__(
        self,
        nodes: Sequence[str],
        groups: Mapping[str, Sequence[str]],
        attrs: Callable[[str], Mapping[str, str]] | None,
        allow_files: bool,
        budget: _Budget,
    ) -> None:
        self.budget = budget
        self.nodes = nodes
        self.node_set = frozenset(nodes)
        self.groups = groups
        self.attrs = attrs
        self.allow_files = allow_files
        self.unknown: dict[str, None] = {}  # an ordered set, reported all at once
        self._attr_cache: dict[str, Mapping[str, str]] = {}

    def union(self, tree: _Union) -> set[str]:
        included, excluded = self._union_parts(tree.elements)
        return included - excluded

    def _union_parts(self, elements: Iterable[_Element]) -> tuple[set[str], set[str]]:
        included: set[str] = set()
        excluded: set[str] = set()
        for element in elements:
            (excluded if element.exclude else included).update(self._evaluate(element.expr))
        return included, excluded

    def _evaluate(self, expr: _Expr) -> set[str]:
        if isinstance(expr, _Union):
            return self.union(expr)
        if isinstance(expr, _Intersection):
            result = self._evaluate(expr.operands[0])
            for operand in expr.operands[1:]:
                result = result & self._evaluate(operand)  # evaluate all: report all unknowns
            return result
        return self._atom(expr)

    def _atom(self, atom: _Atom) -> set[str]:
        text = atom.text
        if text in self.node_set:
            return {text}
        if text.startswith("/"):
            return self._regex(atom)
        if text.startswith("^"):
            return self._file(atom)
        if "=" in text or "!~" in text:
            return self._selector(atom)
        if text in self.groups or text == "all":
            return self._group(text, atom.column)
        for offset, char in enumerate(text):
            if char in "()" or char.isspace():
                what = "whitespace" if char.isspace() else repr(char)
                raise NoderangeSyntaxError(
                    f"unexpected {what} in {_quote(text)}", atom.column + offset
                )
        if _NUMERIC.fullmatch(text):
            text = _with_numeric_prefix(text)
        ranged = any(char in text for char in "[]+-:")
        if ranged and _LONG_NUMBER.search(text):
            raise NoderangeSyntaxError(
                f"number too long in {_quote(text)}: range bounds have at most "
                f"{_MAX_DIGITS} digits",
                atom.column,
            )
        if "[" in text or "]" in text:
            names = _expand_brackets(atom, self.budget)
        elif "+" in text:
            names = _expand_plus(text, atom.column, self.budget)
        elif "-" in text or ":" in text:
            names = _expand_span(text, atom.column, self.budget)
        else:
            names = [text]
        if names is None:  # not a well-formed range: xCAT reports the atom as unknown
            self.unknown[atom.text] = None
            return set()
        return self._resolve(names, atom.column)

    def _resolve(self, names: Iterable[str], column: int) -> set[str]:
        """Generated names are nodes, else groups (``rack1-rack3``), else unknown."""
        result: set[str] = set()
        for name in names:
            if name in self.node_set:
                result.add(name)
            elif name in self.groups or name == "all":
                result |= self._group(name, column)
            else:
                self.unknown[name] = None
        return result

    def _group(self, name: str, column: int) -> set[str]:
        members = self.groups[name] if name in self.groups else self.nodes  # "all"
        self.budget.charge(len(members), f"group {_quote(name)}", column)
        return set(members)

    def _regex(self, atom: _Atom) -> set[str]:
        if len(atom.text) == 1:
            raise NoderangeSyntaxError("empty regular expression after '/'", atom.column)
        pattern = _compile(atom.text[1:], atom.column + 1)
        self.budget.charge(len(self.nodes), f"regex {_quote(atom.text)}", atom.column)
        matched = {name for name in self.nodes if pattern.fullmatch(name)}
        if matched:
            return matched
        self.budget.charge(len(self.groups), f"regex {_quote(atom.text)}", atom.column)
        for group, members in self.groups.items():
            if pattern.fullmatch(group):
                self.budget.charge(len(members), f"group {_quote(group)}", atom.column)
                matched.update(members)
        return matched

    def _selector(self, atom: _Atom) -> set[str]:
        match = _SELECTOR.fullmatch(atom.text)
        if not match:
            raise NoderangeSyntaxError(
                f"{atom.text!r} is not an attribute selector "
                "(attr==value, attr!=value, attr=~regex, attr!~regex)",
                atom.column,
            )
        if self.attrs is None:
            raise NoderangeError(
                f"attribute selectors such as {atom.text!r} are not available here", atom.column
            )
        name, operator, value = match.groups()
        test = _value_test(operator, value, atom.column + match.start(3))
        if not self.nodes:
            return set()
        key = self._attribute_key(name, atom.column)
        self.budget.charge(len(self.nodes), f"selector {_quote(atom.text)}", atom.column)
        return {node for node in self.nodes if test(self._attributes(node).get(key) or "")}

    def _attribute_key(self, name: str, column: int) -> str:
        """Accept xCAT's ``table.column`` spelling (``nodehm.mgt``) for our ``mgt``."""
        known = self._attributes(self.nodes[0])
        if name in known:
            return name
        short = name.rsplit(".", 1)[-1]
        if short in known:
            return short
        raise NoderangeError(f"unknown attribute {name!r} in selector", column)

    def _attributes(self, node: str) -> Mapping[str, str]:
        cached = self._attr_cache.get(node)
        if cached is None:
            assert self.attrs is not None
            cached = self._attr_cache[node] = self.attrs(node)
        return cached

    def _file(self, atom: _Atom) -> set[str]:
        """One noderange per line; ``#`` and ``^`` lines are skipped, as in xCAT.

        Exclusions in the file (``-node50``) apply to the file's own nodes.
        """
        path = atom.text[1:]
        if not self.allow_files:
            raise NoderangeError(
                f"{atom.text!r}: reading node names from a file (^/path) "
                "is only allowed on the command line",
                atom.column,
            )
        try:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
            content = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            message = f"cannot read noderange file {path}: {reason}"
            raise NoderangeError(message, atom.column) from None
        included: set[str] = set()
        excluded: set[str] = set()
        for number, line in enumerate(content.splitlines(), start=1):
            token = _FILE_TOKEN.match(line.lstrip()).group()
            if not token or token[0] in "#^":
                continue
            try:
                tree = _Parser(token, self.budget).parse()
                line_in, line_out = self._union_parts(tree.elements)
            except NoderangeError as error:
                where = f"{path} line {number}, column {error.column}"
                raise type(error)(f"{error.message} ({where})", atom.column) from None
            included |= line_in
            excluded |= line_out
        return included - excluded


def _value_test(operator: str, value: str, column: int) -> Callable[[str], bool]:
    """The comparison an attribute selector applies to each node's value."""
    if operator == "!=":
        return value.__ne__
    if operator in ("==", "="):
        return value.__eq__
    # xCAT accepts the regex bare or between slashes: groups=~/rack.*/
    if len(value) >= 2 and value.startswith("/") and value.endswith("/"):
        value, column = value[1:-1], column + 1
    pattern = _compile(value, column)
    if operator == "=~":
        return lambda candidate: pattern.search(candidate) is not None
    return lambda candidate: pattern.search(candidate) is None


def _compile(pattern: str, column: int) -> re2._Regexp:
    """RE2, not Python's ``re``: matching is linear in the name, so no pattern a viewer
    types (``(a+)+$``, ``(a|aa)+$``) can backtrack for seconds; its memory is capped too."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise NoderangeSyntaxError(
            f"regular expression is {len(pattern)} characters long; "
            f"at most {MAX_PATTERN_CHARS} are allowed",
            column,
        )
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except (re2.error, ValueError) as exc:  # ValueError: text that is not valid UTF-8
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        message = (
            f"bad regular expression {_quote(pattern)}: {reason} "
            "(RE2 syntax: no backreferences or lookaround, repeat counts up to 1000)"
        )
        raise NoderangeSyntaxError(message, column) from None


def _with_numeric_prefix(text: str) -> str:
    """``10`` → ``node10``; ``10-20`` → ``node10-node20``; ``10+3`` → ``node10+3``."""
    if "+" in text:
        return NUMERIC_PREFIX + text
    return _DIGIT_RUNS.sub(lambda m: NUMERIC_PREFIX + m.group(), text)


def _range_size(start: str, end: str, column: int) -> int:
    """How many names ``start``-``end`` means, checked before any is generated."""
    if len(start) > _MAX_DIGITS or len(end) > _MAX_DIGITS:
        raise NoderangeSyntaxError(
            f"number too long in range {_quote(start)}-{_quote(end)}: range bounds have "
            f"at most {_MAX_DIGITS} digits",
            column,
        )
    first, last = int(start), int(end)
    if last < first:
        raise NoderangeSyntaxError(f"range {start}-{end} runs backwards", column)
    return last - first + 1


def _number_range(start: str, end: str) -> list[str]:
    """Digit strings from start to end, zero-padded to start's width (``01``…``10``);
    the caller has sized and charged the range with :func:`_range_size`."""
    width = len(start)
    return [str(number).zfill(width) for number in range(int(start), int(end) + 1)]


def _expand_brackets(atom: _Atom, budget: _Budget) -> list[str]:
    """``f[1-2]n[1,3]`` → f1n1, f1n3, f2n1, f2n3 (the cartesian product, in order)."""
    text, column = atom.text, atom.column
    parts: list[str | list[tuple[str, str]]] = []  # literal text, or a bracket's ranges
    position = 0
    for match in _BRACKET.finditer(text):
        parts.append(_plain(text, position, match.start(), column))
        parts.append(_bracket_ranges(match.group(1), column + match.start(1)))
        position = match.end()
    parts.append(_plain(text, position, len(text), column))
    sizes = [
        sum(_range_size(start, end, column) for start, end in part)
        for part in parts
        if isinstance(part, list)
    ]
    budget.charge(math.prod(sizes) - 1, _quote(text), column)  # the atom counted 1
    choices = [
        [part]
        if isinstance(part, str)
        else [n for start, end in part for n in _number_range(start, end)]
        for part in parts
    ]
    return ["".join(names) for names in itertools.product(*choices)]


def _plain(text: str, start: int, end: int, column: int) -> str:
    """The literal text between brackets, which must not hold a stray bracket."""
    for offset in range(start, end):
        if text[offset] in "[]":
            raise NoderangeSyntaxError(f"unmatched {text[offset]!r}", column + offset)
    return text[start:end]


def _bracket_ranges(spec: str, column: int) -> list[tuple[str, str]]:
    """``1,3,5-7`` → [("1", "1"), ("3", "3"), ("5", "7")], each checked and sized."""
    if not spec:
        raise NoderangeSyntaxError("empty brackets", column - 1)
    ranges: list[tuple[str, str]] = []
    offset = 0
    for item in spec.split(","):
        match = _BRACKET_ITEM.fullmatch(item)
        if not match:
            raise NoderangeSyntaxError(
                f"{_quote(item)} in brackets is not a number or a range like 01-10",
                column + offset,
            )
        start, end = match.group(1), match.group(2) or match.group(1)
        _range_size(start, end, column + offset)
        ranges.append((start, end))
        offset += len(item) + 1
    return ranges


def _expand_plus(text: str, column: int, budget: _Budget) -> list[str] | None:
    """``node10+3`` → node10 … node13 (xCAT counts the start plus three more)."""
    match = _PLUS.fullmatch(text)
    if not match:
        return None
    prefix, start, suffix, increment = match.groups()
    if len(increment) > _MAX_DIGITS or len(start) > _MAX_DIGITS:
        raise NoderangeSyntaxError(f"number too long in {_quote(text)}", column)
    end = str(int(start) + int(increment))
    budget.charge(_range_size(start, end, column) - 1, _quote(text), column)
    return [prefix + n + suffix for n in _number_range(start, end)]


def _expand_span(text: str, column: int, budget: _Budget) -> list[str] | None:
    """``node01-node10`` / ``node01:node10``: exactly one number may differ.

    Names may hold dashes themselves (``rack1-n1-rack1-n4``): as in xCAT, a range has an
    odd number of dashes and splits at the middle one. None means "not a range".
    """
    bounds = _split_bounds(text)
    if bounds is None:
        return None
    left, right = bounds
    if left == right:
        return [left]
    left_parts, right_parts = _DIGIT_RUNS.split(left), _DIGIT_RUNS.split(right)
    if len(left_parts) != len(right_parts):
        return None
    for index, (lpart, rpart) in enumerate(zip(left_parts, right_parts, strict=True)):
        if lpart == rpart:
            continue
        if index % 2 == 0 or left_parts[index + 1 :] != right_parts[index + 1 :]:
            return None
        prefix, suffix = "".join(left_parts[:index]), "".join(left_parts[index + 1 :])
        budget.charge(_range_size(lpart, rpart, column) - 1, _quote(text), column)
        return [prefix + n + suffix for n in _number_range(lpart, rpart)]
    return None


def _split_bounds(text: str) -> tuple[str, str] | None:
    if ":" in text:
        parts = text.split(":")
        return (parts[0], parts[1]) if len(parts) == 2 else None
    dashes = text.count("-")
    if dashes % 2 == 0:
        return None
    index = -1
    for _ in range(dashes // 2 + 1):
        index = text.index("-", index + 1)
    return text[:index], text[index + 1 :]
