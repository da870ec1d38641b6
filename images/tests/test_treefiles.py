"""Synclist files land inside the image tree and nowhere else, whatever symlinks it holds.

The build runs as root on the build host; these trees are built by the test in tmp_path
with the symlinks a package or a hostile definition could leave.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from images.builders.base import place_synclists
from images.lists import validate_synclist_entry
from images.treefiles import UnsafeTreePath, write_in_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "rootimg").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path / "rootimg"


def outside(tree: Path) -> Path:
    return tree.parent / "outside"


def test_a_synclist_through_a_symlinked_etc_is_refused_and_writes_nothing_outside(tree):
    (tree / "etc").symlink_to(outside(tree))
    lines: list[str] = []
    with pytest.raises(UnsafeTreePath, match="/etc is a symlink"):
        place_synclists(tree, [("/etc/motd", "0644", "hello\n")], lines.append)
    assert list(outside(tree).iterdir()) == []
    assert any("refused /etc/motd" in line and "symlink" in line for line in lines)


def test_a_relative_symlink_leaving_the_tree_is_refused(tree):
    (tree / "etc").symlink_to("../outside")
    with pytest.raises(UnsafeTreePath):
        write_in_tree(tree, "/etc/motd", b"x", 0o644)
    assert list(outside(tree).iterdir()) == []


def test_a_deeper_absolute_symlink_is_refused_and_new_parents_are_not_made_through_it(tree):
    (tree / "var").mkdir()
    (tree / "var/run").symlink_to(outside(tree))
    with pytest.raises(UnsafeTreePath, match="/var/run is a symlink"):
        write_in_tree(tree, "/var/run/sub/dir/file", b"x", 0o644)
    assert list(outside(tree).iterdir()) == []


def test_a_dangling_symlinked_parent_is_refused_not_created(tree):
    (tree / "etc").symlink_to(outside(tree) / "missing")
    with pytest.raises(UnsafeTreePath, match="symlink"):
        write_in_tree(tree, "/etc/motd", b"x", 0o644)
    assert not (outside(tree) / "missing").exists()


def test_a_symlink_at_the_file_itself_is_replaced_not_written_through(tree):
    (outside(tree) / "passwd").write_text("host file\n")
    (tree / "etc").mkdir()
    (tree / "etc/motd").symlink_to(outside(tree) / "passwd")
    place_synclists(tree, [("/etc/motd", "0600", "image file\n")], lambda line: None)
    assert (outside(tree) / "passwd").read_text() == "host file\n"
    assert not (tree / "etc/motd").is_symlink()
    assert (tree / "etc/motd").read_text() == "image file\n"
    assert (tree / "etc/motd").stat().st_mode & 0o777 == 0o600


def test_a_hard_linked_file_is_replaced_not_truncated(tree):
    (outside(tree) / "shared").write_text("host file\n")
    (tree / "etc").mkdir()
    os.link(outside(tree) / "shared", tree / "etc/motd")
    write_in_tree(tree, "/etc/motd", b"image file\n", 0o644)
    assert (outside(tree) / "shared").read_text() == "host file\n"
    assert (tree / "etc/motd").read_text() == "image file\n"


def test_missing_parents_are_created_inside_the_tree(tree):
    write_in_tree(tree, "/opt/site/conf/app.ini", b"k=v\n", 0o640)
    assert (tree / "opt/site/conf/app.ini").read_bytes() == b"k=v\n"
    assert (tree / "opt/site").stat().st_mode & 0o777 == 0o755


def test_a_file_where_a_directory_is_needed_is_refused(tree):
    (tree / "etc").write_text("not a directory")
    with pytest.raises(UnsafeTreePath, match="/etc is a file"):
        write_in_tree(tree, "/etc/motd", b"x", 0o644)


def test_a_directory_where_the_file_goes_is_refused(tree):
    (tree / "etc/motd").mkdir(parents=True)
    with pytest.raises(UnsafeTreePath, match="not a file"):
        write_in_tree(tree, "/etc/motd", b"x", 0o644)


def test_synclist_paths_with_control_characters_are_refused_in_the_definition():
    with pytest.raises(ValueError, match="control characters"):
        validate_synclist_entry("/etc/mo\x00td", "0644")
