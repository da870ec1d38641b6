r"""xCAT data object stanza files, read and written exactly as ``lsdef -z`` does.

Operators move definitions between xCAT and snportal with ``lsdef -z | mkdef -z``, so
this reads what xCAT writes (and what people hand-edit from it) and writes output that
xCAT would read back::

    # <xCAT data object stanza file>

    node01:
        objtype=node
        groups=compute,all
        mgt=ipmi

Reading follows xCAT's ``DBobjUtils::readFileInput``: blank lines and ``#`` lines are
skipped anywhere, indentation (tabs or spaces) is free, a value is everything after the
first ``=`` (it may hold ``=`` and spaces) with one pair of surrounding double quotes
removed, and a ``default-<objtype>:`` stanza gives attributes to the stanzas of that
type that follow it, without overriding the ones they set. Unlike xCAT, anything
malformed is an error with its line number instead of a silently skipped object, because
a bad import must change nothing.

xCAT writes one line per attribute and has no escapes, so a value it cannot hold (a
multi-line comment typed in the web form, edge spaces, a value in quotes) is written
double-quoted with backslash escapes: ``comments="rack 4\nslot 2"``. Inside double
quotes ``\\``, ``\"``, ``\n``, ``\r``, ``\t``, ``\xHH`` and ``\uHHHH`` are decoded and
any other backslash is kept as it is; unquoted values are never decoded, so every file
xCAT writes reads exactly as xCAT reads it. Any text round-trips.

Pure module: no Django. Which objtypes and attributes mean something is the caller's
business (``mkdef -z`` reports unknown ones by name).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["HEADER", "Stanza", "StanzaError", "encode_value", "format", "parse"]

HEADER = "# <xCAT data object stanza file>"

_INDENT = "    "  # what lsdef -z writes
_DEFAULT = re.compile(r"default-(\S+)")
_OBJTYPE = re.compile(r"[A-Za-z0-9_]+")
# Inside double quotes: the escapes encode_value writes (anything else stays literal).
_ESCAPE = re.compile(r'\\(["\\nrt]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})')
_SIMPLE = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


@dataclass
class Stanza:
    """One object definition: its name, type, attributes, and where it started."""

    name: str
    objtype: str
    attrs: dict[str, str] = field(default_factory=dict)
    # Only for error messages; two stanzas read from different places are still equal.
    line: int = field(default=0, compare=False)


class StanzaError(ValueError):
    """The text is not a valid stanza file; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass
class _Block:
    """A stanza being read: a ``name:`` line and the attribute lines under it."""

    name: str
    line: int
    attrs: dict[str, str] = field(default_factory=dict)


def parse(text: str) -> list[Stanza]:
    """Read every object of a stanza file, in file order, with defaults applied."""
    reader = _Reader()
    for number, raw in enumerate(text.splitlines(), start=1):
        reader.feed(number, raw.strip())
    reader.finish()
    return reader.stanzas


class _Reader:
    def __init__(self) -> None:
        self.stanzas: list[Stanza] = []
        self.defaults: dict[str, dict[str, str]] = {}
        self.names: dict[str, int] = {}  # name → line it was defined on
        self.block: _Block | None = None

    def feed(self, number: int, line: str) -> None:
        if not line or line.startswith("#"):
            return
        if "=" in line:
            self._attribute(number, line)
        elif line.endswith(":"):
            self.finish()
            self.block = _Block(_stanza_name(number, line[:-1].strip()), number)
        else:
            raise StanzaError(number, f"expected 'name:' or 'attribute=value', got {line!r}")

    def _attribute(self, number: int, line: str) -> None:
        if self.block is None:
            raise StanzaError(number, f"attribute line {line!r} before any 'name:' line")
        attr, _, value = line.partition("=")
        attr = attr.strip()
        if not attr or any(char.isspace() for char in attr):
            raise StanzaError(number, f"{attr!r} is not an attribute name")
        if attr in self.block.attrs:
            raise StanzaError(number, f"attribute {attr!r} given twice for {self.block.name!r}")
        self.block.attrs[attr] = _unquote(value.strip())

    def finish(self) -> None:
        """Close the current block: record defaults, or emit a stanza."""
        block, self.block = self.block, None
        if block is None:
            return
        default = _DEFAULT.fullmatch(block.name)
        if default:
            objtype = _objtype(block.line, block.name, default[1])
            given = block.attrs.pop("objtype", objtype)
            if given != objtype:
                message = f"{block.name!r} has objtype={given}; it gives defaults for {objtype}"
                raise StanzaError(block.line, message)
            self.defaults.setdefault(objtype, {}).update(block.attrs)
            return
        if block.name in self.names:
            message = f"{block.name!r} is defined twice (first on line {self.names[block.name]})"
            raise StanzaError(block.line, message)
        self.names[block.name] = block.line
        if "objtype" not in block.attrs:
            raise StanzaError(block.line, f"{block.name!r} has no objtype= line")
        objtype = _objtype(block.line, block.name, block.attrs.pop("objtype"))
        attrs = {**self.defaults.get(objtype, {}), **block.attrs}
        self.stanzas.append(Stanza(block.name, objtype, attrs, block.line))


def _stanza_name(number: int, name: str) -> str:
    if not name or any(char.isspace() for char in name):
        raise StanzaError(number, f"{name!r} is not an object name")
    return name


def _objtype(number: int, name: str, objtype: str) -> str:
    if not _OBJTYPE.fullmatch(objtype):
        raise StanzaError(number, f"{name!r} has a bad objtype {objtype!r}")
    return objtype


def _unquote(value: str) -> str:
    """xCAT strips the double quotes people put around values (``otherpkgdir="/x"``);
    inside them, the escapes :func:`encode_value` writes are decoded."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _ESCAPE.sub(_unescape, value[1:-1])
    return value


def _unescape(match: re.Match[str]) -> str:
    code = match[1]
    return _SIMPLE[code] if code in _SIMPLE else chr(int(code[1:], 16))


def format(stanzas: Iterable[Stanza]) -> str:
    """Write stanzas as ``lsdef -z`` does: ``objtype`` first, then attributes sorted.

    Raises ValueError for what the format cannot hold (a name or an attribute name that
    would read back as something else), rather than writing a file that lies; any value
    can be written (see :func:`encode_value`).
    """
    lines = [HEADER]
    for stanza in stanzas:
        _check_writable(stanza)
        lines += ["", f"{stanza.name}:", f"{_INDENT}objtype={stanza.objtype}"]
        lines += [
            f"{_INDENT}{attr}={encode_value(stanza.attrs[attr])}" for attr in sorted(stanza.attrs)
        ]
    return "\n".join(lines) + "\n"


def encode_value(value: str) -> str:
    """``value`` as it stands after ``attr=`` on one line, reading back unchanged.

    Plain values are written as they are (as xCAT writes them); a value with edge spaces,
    surrounding quotes, or a character that would end the line is double-quoted with
    backslash escapes.
    """
    if value == value.strip() and not _is_quoted(value) and not any(map(_breaks, value)):
        return value
    return '"' + "".join(_escape(char) for char in value) + '"'


def _is_quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] == '"'


def _breaks(char: str) -> bool:
    """Characters a line cannot carry: line breaks, controls (tab aside), surrogates."""
    return char != "\t" and unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")


def _escape(char: str) -> str:
    if char in ('"', "\\"):
        return "\\" + char
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if _breaks(char):
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    return char


def _check_writable(stanza: Stanza) -> None:
    name = stanza.name
    if (
        not name
        or name.startswith("#")
        or "=" in name
        or any(char.isspace() for char in name)
        or _DEFAULT.fullmatch(name)
    ):
        raise ValueError(f"object name {name!r} cannot be written to a stanza file")
    if not _OBJTYPE.fullmatch(stanza.objtype):
        raise ValueError(f"{name!r} has a bad objtype {stanza.objtype!r}")
    for attr in stanza.attrs:
        if (
            attr == "objtype"
            or not attr
            or attr.startswith("#")
            or "=" in attr
            or any(char.isspace() for char in attr)
        ):
            raise ValueError(f"{name!r}: attribute name {attr!r} cannot be written")
