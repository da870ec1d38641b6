"""xCAT's list syntaxes: pkglist, otherpkglist, exlist and synclist entries.

Operators bring lists from xCAT (``/opt/xcat/share/xcat/netboot/...``), so the syntax
is xCAT's, not an invention:

* **pkglist / otherpkglist**: one package per line, ``#`` starts a comment line,
  blank lines are ignored, ``#INCLUDE:<name>#`` splices another list in place. Names
  are resolved by the caller (the database holds the lists), so this module stays
  free of storage concerns.
* **synclists** (in the editor and in exported files): files to place into the image,
  each written as a shell-style here-document, ``/etc/exports 0644 <<EOF`` followed by
  the content lines and a line holding only the marker. xCAT's synclist names files on
  the management node; snportal keeps the content itself so it is versioned with the
  definition.
* **exlist**: one pattern per line, relative to the image root (``./usr/share/man*``).
  A pattern matches like ``find . -path PATTERN`` (``*`` also matches ``/``); a
  matching directory is dropped with everything beneath it. A line starting with
  ``+`` re-includes paths an exclude removed; it is a shell glob (``*`` stays within
  one path component, as xCAT's packimage hands it to the shell) and brings back the
  matching paths with their contents.

Every syntax error is a ListSyntaxError naming the line, so the editor can point at it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ExlistRule",
    "ListSyntaxError",
    "dpkg_path_filters",
    "format_synclists",
    "pack_paths",
    "parse_synclists",
    "parse_exlist",
    "parse_pkglist",
    "validate_synclist_entry",
]

_INCLUDE = re.compile(r"^#INCLUDE:(?P<name>[^#]+)#$")
# Debian, Ubuntu and RPM package names, optionally with an apt suffix
# (=version, /suite, :arch). Anything else, e.g. "vim nano", is a typo worth stopping.
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._~:=/@-]*$")
_MODE = re.compile(r"^0?[0-7]{3,4}$")
_SYNC_HEADER = re.compile(r"^(?P<path>\S+)\s+(?P<mode>\S+)\s+<<(?P<marker>[A-Za-z_][A-Za-z0-9_]*)$")


class ListSyntaxError(ValueError):
    """A list line that cannot be understood; ``line_no`` is 1-based."""

    def __init__(self, line_no: int, message: str, list_name: str | None = None) -> None:
        self.line_no = line_no
        self.message = message
        self.list_name = list_name
        where = f"{list_name} line {line_no}" if list_name else f"line {line_no}"
        super().__init__(f"{where}: {message}")


def parse_pkglist(
    text: str,
    resolve: Callable[[str], str] | None = None,
    *,
    name: str | None = None,
) -> list[str]:
    """Return the package names of a pkglist (or otherpkglist), includes expanded.

    ``resolve(name)`` returns the text of an included list and raises LookupError when
    there is no such list. Duplicates keep their first position, so the order an
    operator wrote survives into the build log.
    """
    seen: dict[str, None] = {}
    _collect(text, resolve, name, (name,) if name else (), seen)
    return list(seen)


def _collect(
    text: str,
    resolve: Callable[[str], str] | None,
    name: str | None,
    chain: tuple[str, ...],
    seen: dict[str, None],
) -> None:
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#INCLUDE"):
            _include(line, line_no, resolve, name, chain, seen)
            continue
        if line.startswith("#"):
            continue
        if not _PACKAGE.match(line):
            raise ListSyntaxError(
                line_no, f"not a package name: {line!r} (one package per line)", name
            )
        seen.setdefault(line, None)


def _include(
    line: str,
    line_no: int,
    resolve: Callable[[str], str] | None,
    name: str | None,
    chain: tuple[str, ...],
    seen: dict[str, None],
) -> None:
    match = _INCLUDE.match(line)
    if not match:
        raise ListSyntaxError(
            line_no, f"malformed include {line!r}, expected #INCLUDE:<name>#", name
        )
    target = match["name"].strip()
    if target in chain:
        cycle = " -> ".join((*chain, target))
        raise ListSyntaxError(line_no, f"include cycle: {cycle}", name)
    if resolve is None:
        raise ListSyntaxError(line_no, f"cannot include {target!r} here", name)
    try:
        included = resolve(target)
    except LookupError:
        via = " -> ".join((*chain, target)) if chain else target
        raise ListSyntaxError(
            line_no, f"included list {target!r} not found ({via})", name
        ) from None
    _collect(included, resolve, target, (*chain, target), seen)


@dataclass(frozen=True)
class ExlistRule:
    """One exlist line: a pattern, and whether it re-includes (``+``) or excludes."""

    pattern: str
    include: bool
    line_no: int


def _normalise(pattern: str, line_no: int) -> str:
    """Accept ``./usr``, ``/usr`` and ``usr`` alike; xCAT lists mix them."""
    if pattern.startswith("./"):
        pass
    elif pattern.startswith("/"):
        pattern = "." + pattern
    else:
        pattern = "./" + pattern
    if ".." in pattern.split("/"):
        raise ListSyntaxError(line_no, f"pattern {pattern!r} leaves the image root")
    return pattern.rstrip("/") or "."


def parse_exlist(text: str) -> list[ExlistRule]:
    """Parse an exlist into rules; ``#`` lines and blank lines are ignored."""
    rules = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("+")
        pattern = line[1:].strip() if include else line
        if not pattern or pattern in {".", "./", "/"}:
            raise ListSyntaxError(line_no, f"{line!r} would match the whole image")
        if any(ch.isspace() for ch in pattern):
            raise ListSyntaxError(line_no, f"one pattern per line, got {line!r}")
        rules.append(ExlistRule(_normalise(pattern, line_no), include, line_no))
    return rules


def _glob_parts_match(pattern_parts: list[str], path_parts: list[str]) -> bool:
    return len(pattern_parts) == len(path_parts) and all(
        fnmatch.fnmatchcase(name, pat) for name, pat in zip(path_parts, pattern_parts, strict=True)
    )


class _Exlist:
    """Decides, path by path, what packimage keeps."""

    def __init__(self, rules: list[ExlistRule]) -> None:
        self.excludes = [r.pattern for r in rules if not r.include]
        self.includes = [r.pattern.split("/") for r in rules if r.include]

    def excluded(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pat) for pat in self.excludes)

    def reincluded(self, parts: list[str]) -> bool:
        """True when the path or one of its ancestors matches a ``+`` line."""
        return any(
            _glob_parts_match(pat, parts[: len(pat)])
            for pat in self.includes
            if len(pat) <= len(parts)
        )

    def may_reinclude_below(self, parts: list[str]) -> bool:
        """Whether some ``+`` line could match beneath this excluded directory."""
        return any(
            _glob_parts_match(pat[: len(parts)], parts)
            for pat in self.includes
            if len(pat) > len(parts)
        )


def pack_paths(root: Path, exlist_text: str = "") -> Iterator[str]:
    """Yield the ``./``-relative paths of ``root`` that packimage archives.

    Order is deterministic (names sorted per directory) and pre-order, so a directory
    always precedes its contents as ``cpio`` needs. The parents of a re-included path
    are kept even when an exclude matched them, otherwise the archive could not
    recreate it. Symlinks are never followed; other mounted filesystems are skipped
    (``find -xdev``), so a stray /proc mount in a build tree is not archived.
    """
    rules = _Exlist(parse_exlist(exlist_text))
    root = Path(root)
    yield "."
    yield from _walk(root, ".", root.lstat().st_dev, rules)


def _walk(directory: Path, rel: str, device: int, rules: _Exlist) -> Iterator[str]:
    with os.scandir(directory) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        path = f"{rel}/{entry.name}"
        parts = path.split("/")
        is_dir = entry.is_dir(follow_symlinks=False)
        if rules.excluded(path) and not rules.reincluded(parts):
            if is_dir and rules.may_reinclude_below(parts):
                below = list(_walk(Path(entry.path), path, device, rules))
                if below:
                    yield path
                    yield from below
            continue
        yield path
        if is_dir and entry.stat(follow_symlinks=False).st_dev == device:
            yield from _walk(Path(entry.path), path, device, rules)


def dpkg_path_filters(exlist_text: str) -> list[str]:
    """dpkg ``path-exclude``/``path-include`` options equivalent to the exlist's doc rules.

    Files the exlist drops anyway need not be unpacked at all: telling dpkg keeps them
    out of the build tree (mmdebstrap is faster and the tree smaller). Only the usual
    documentation trees are translated; the exlist itself is still applied at pack time.
    """
    rules = _Exlist(parse_exlist(exlist_text))
    filters = []
    for top in ("./usr/share/doc", "./usr/share/man", "./usr/share/info", "./usr/share/locale"):
        probe = f"{top}/snportal-probe/file"
        if rules.excluded(probe) and not rules.reincluded(probe.split("/")):
            filters.append(f"path-exclude={top[1:]}/*")
            filters.extend(
                f"path-include={'/'.join(pat)[1:]}"
                for pat in rules.includes
                if "/".join(pat).startswith(top + "/")
            )
    return filters


def validate_synclist_entry(path: str, mode: str) -> int:
    """Check one synclist file (absolute path, octal mode like ``0644``); return the mode.

    Raises ValueError with a message fit for a form field.
    """
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} must be absolute")
    if ".." in path.split("/"):
        raise ValueError(f"path {path!r} must not contain '..'")
    if any(ord(char) < 32 or char == "\x7f" for char in path):
        raise ValueError(f"path {path!r} must not contain control characters")
    if path.rstrip("/") == "" or path.endswith("/"):
        raise ValueError(f"path {path!r} must name a file")
    if not _MODE.match(mode):
        raise ValueError(f"mode {mode!r} must be octal, like 0644")
    return int(mode, 8)


def parse_synclists(text: str) -> list[dict[str, str]]:
    """Read the synclists text format into ``[{"path", "mode", "content"}]``.

    Outside a here-document, blank lines and ``#`` lines are ignored. The content is the
    lines between the header and the marker, each ending in a newline; the mode is
    normalised to four digits (``644`` → ``0644``).
    """
    entries: list[dict[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line_no, line = i + 1, lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        header = _SYNC_HEADER.match(line)
        if not header:
            raise ListSyntaxError(
                line_no, f"expected '<path> <mode> <<EOF', got {line!r}", "synclists"
            )
        try:
            mode = validate_synclist_entry(header["path"], header["mode"])
        except ValueError as e:
            raise ListSyntaxError(line_no, str(e), "synclists") from None
        if any(e["path"] == header["path"] for e in entries):
            raise ListSyntaxError(line_no, f"{header['path']} is given twice", "synclists")
        body: list[str] = []
        while i < len(lines) and lines[i] != header["marker"]:
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ListSyntaxError(
                line_no, f"no closing {header['marker']!r} line for {header['path']}", "synclists"
            )
        i += 1
        entries.append(
            {
                "path": header["path"],
                "mode": f"{mode:04o}",
                "content": "".join(f"{b}\n" for b in body),
            }
        )
    return entries


def format_synclists(entries: list[dict[str, str]]) -> str:
    """Write entries in the format :func:`parse_synclists` reads (a round trip).

    The marker is ``EOF`` unless a content line is exactly ``EOF``; then ``EOF1``, ….
    """
    blocks = []
    for entry in entries:
        content_lines = entry["content"].splitlines()
        marker, n = "EOF", 0
        while marker in content_lines:
            n += 1
            marker = f"EOF{n}"
        blocks.append(
            "\n".join([f"{entry['path']} {entry['mode']} <<{marker}", *content_lines, marker])
        )
    return "\n".join(blocks) + ("\n" if blocks else "")
