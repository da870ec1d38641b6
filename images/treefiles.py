"""Write a file into an image build tree without ever leaving the tree.

A build tree is a whole root filesystem: packages put symlinks in it, many of them
absolute (``/var/run`` → ``/run``), and the build runs as root on the build host. Joining
``tree / "var/run/x"`` and writing would follow such a link onto the *host*; so would a
definition whose ``/etc`` was made a symlink to a directory outside. Here every component
is opened relative to its parent with ``O_NOFOLLOW`` (``openat``), so no symlink, absolute
or relative, is followed, and a component that is not a plain directory is refused with a
message that names it. There is no window between a check and the write: the check *is*
the open.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["UnsafeTreePath", "write_in_tree"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeTreePath(ValueError):
    """The path would leave the tree or replace something that is not a file; the message
    names the component and is meant for the build log."""


def write_in_tree(tree: Path, path: str, data: bytes, mode: int) -> None:
    """Create or replace ``tree/path`` with ``data`` and permission bits ``mode``.

    Missing parent directories are created (0755). An existing file at ``path`` is
    replaced by a new one (never truncated in place: it may be a hard link to a file
    elsewhere); an existing symlink there is replaced too, never written through.
    """
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts or ".." in parts or any("\x00" in part for part in parts):
        raise UnsafeTreePath(f"{path!r} is not a file path inside the image")
    dir_fd = os.open(tree, _DIR_FLAGS)
    try:
        for depth, name in enumerate(parts[:-1]):
            where = "/" + "/".join(parts[: depth + 1])
            child = _open_dir(dir_fd, name, where)
            os.close(dir_fd)
            dir_fd = child
        _replace_file(dir_fd, parts[-1], "/" + "/".join(parts), data, mode)
    finally:
        os.close(dir_fd)


def _open_dir(dir_fd: int, name: str, where: str) -> int:
    """The directory ``name`` under ``dir_fd``, created when missing, never a symlink."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        try:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
        except FileExistsError:  # a dangling symlink: open() said "missing"
            pass
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise _refusal(dir_fd, name, where, exc) from None
    except OSError as exc:
        raise _refusal(dir_fd, name, where, exc) from None


def _replace_file(dir_fd: int, name: str, where: str, data: bytes, mode: int) -> None:
    try:
        existing = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        existing = None
    if existing is not None:
        if not (stat.S_ISREG(existing.st_mode) or stat.S_ISLNK(existing.st_mode)):
            raise UnsafeTreePath(f"{where} exists in the image and is not a file")
        os.unlink(name, dir_fd=dir_fd)
    fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        os.fchmod(file.fileno(), mode)


def _refusal(dir_fd: int, name: str, where: str, exc: OSError) -> UnsafeTreePath:
    """Say why ``where`` cannot be a parent directory: a symlink (and where to), or a file."""
    try:  # ELOOP or ENOTDIR, depending on the kernel, for a symlink under O_NOFOLLOW
        target = os.readlink(name, dir_fd=dir_fd)
    except OSError:
        target = None
    if target is not None:
        return UnsafeTreePath(
            f"{where} is a symlink in the image (to {target}); files are never written "
            "through symlinks, which could lead out of the image tree"
        )
    if exc.errno == errno.ENOTDIR:
        return UnsafeTreePath(f"{where} is a file in the image, not a directory")
    return UnsafeTreePath(f"{where}: {exc.strerror}")
