from __future__ import annotations

from pathlib import Path

import pytest

from images.lists import (
    ListSyntaxError,
    dpkg_path_filters,
    pack_paths,
    parse_exlist,
    parse_pkglist,
    validate_synclist_entry,
)

LISTS = {
    "base": "systemd-sysv\nudev\n",
    "net": "iproute2\n#INCLUDE:base#\n",
    "loop-a": "foo\n#INCLUDE:loop-b#\n",
    "loop-b": "bar\n#INCLUDE:loop-a#\n",
}


def resolve(name: str) -> str:
    return LISTS[name]


def test_pkglist_ignores_comments_and_blank_lines():
    text = "# compute node\n\nlinux-image-amd64\n  # indented comment\nkmod\n"
    assert parse_pkglist(text) == ["linux-image-amd64", "kmod"]


def test_pkglist_include_splices_the_other_list_in_place():
    assert parse_pkglist("vim\n#INCLUDE:net#\nless\n", resolve) == [
        "vim",
        "iproute2",
        "systemd-sysv",
        "udev",
        "less",
    ]


def test_pkglist_keeps_the_first_position_of_a_duplicate():
    assert parse_pkglist("udev\n#INCLUDE:base#\n", resolve) == ["udev", "systemd-sysv"]


def test_include_cycle_error_names_the_whole_chain():
    with pytest.raises(ListSyntaxError) as err:
        parse_pkglist("#INCLUDE:loop-a#\n", resolve, name="top")
    assert "top -> loop-a -> loop-b -> loop-a" in str(err.value)
    assert err.value.list_name == "loop-b"
    assert err.value.line_no == 2


def test_include_of_an_unknown_list_names_it_and_the_line():
    with pytest.raises(ListSyntaxError) as err:
        parse_pkglist("vim\n#INCLUDE:nosuch#\n", resolve)
    assert err.value.line_no == 2
    assert "nosuch" in err.value.message


def test_malformed_include_is_an_error_not_a_comment():
    with pytest.raises(ListSyntaxError) as err:
        parse_pkglist("#INCLUDE:base\n", resolve)
    assert err.value.line_no == 1


def test_two_packages_on_one_line_is_an_error_naming_the_line():
    with pytest.raises(ListSyntaxError) as err:
        parse_pkglist("kmod\n\nvim nano\n")
    assert err.value.line_no == 3
    assert "line 3" in str(err.value)


def test_pkglist_accepts_apt_version_and_arch_suffixes():
    assert parse_pkglist("libc6:amd64\nfoo=1.2-3\n") == ["libc6:amd64", "foo=1.2-3"]


def test_exlist_marks_plus_lines_as_reincludes():
    rules = parse_exlist("./usr/share/man*\n+./usr/share/man/man1/ls.1*\n# note\n")
    assert [(r.pattern, r.include, r.line_no) for r in rules] == [
        ("./usr/share/man*", False, 1),
        ("./usr/share/man/man1/ls.1*", True, 2),
    ]


def test_exlist_pattern_leaving_the_root_is_an_error_naming_the_line():
    with pytest.raises(ListSyntaxError) as err:
        parse_exlist("./boot*\n./../etc\n")
    assert err.value.line_no == 2


def test_exlist_line_matching_everything_is_refused():
    with pytest.raises(ListSyntaxError):
        parse_exlist("+/\n")


def make_tree(root: Path) -> Path:
    for rel in [
        "bin/sh",
        "usr/share/man/man1/ls.1.gz",
        "usr/share/man/man1/cp.1.gz",
        "usr/share/man/man8/ip.8.gz",
        "usr/share/doc/kmod/copyright",
        "usr/share/doc/kmod/README",
        "boot/vmlinuz-6.1",
        "etc/hostname",
    ]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    (root / "usr/bin").mkdir()
    (root / "usr/bin/link").symlink_to("../share/man")
    return root


def test_pack_paths_lists_directories_before_their_contents_in_sorted_order(tmp_path):
    paths = list(pack_paths(make_tree(tmp_path)))
    assert paths[0] == "."
    assert paths.index("./usr") < paths.index("./usr/share") < paths.index("./usr/share/man")
    assert paths == sorted(paths, key=lambda p: p.split("/"))


def test_pack_paths_drops_an_excluded_directory_with_its_contents(tmp_path):
    paths = list(pack_paths(make_tree(tmp_path), "./usr/share/man*\n./boot*\n"))
    assert not [p for p in paths if p.startswith(("./usr/share/man", "./boot"))]
    assert "./usr/share/doc/kmod/README" in paths


def test_pack_paths_keeps_a_reincluded_path_and_its_parents(tmp_path):
    exlist = "./usr/share/man*\n+./usr/share/man/man1/ls.1*\n"
    paths = list(pack_paths(make_tree(tmp_path), exlist))
    assert [p for p in paths if p.startswith("./usr/share/man")] == [
        "./usr/share/man",
        "./usr/share/man/man1",
        "./usr/share/man/man1/ls.1.gz",
    ]


def test_pack_paths_reinclude_of_a_directory_brings_its_contents(tmp_path):
    exlist = "./usr/share/doc/*\n+./usr/share/doc/kmod\n"
    paths = list(pack_paths(make_tree(tmp_path), exlist))
    assert "./usr/share/doc/kmod/README" in paths


def test_pack_paths_does_not_follow_symlinks(tmp_path):
    paths = list(pack_paths(make_tree(tmp_path), "./usr/share/man*\n"))
    assert "./usr/bin/link" in paths
    assert not any(p.startswith("./usr/bin/link/") for p in paths)


def test_dpkg_filters_follow_the_exlist_doc_rules():
    filters = dpkg_path_filters(
        "./usr/share/man*\n./usr/share/doc/*\n+./usr/share/doc/*/copyright\n"
    )
    assert filters == [
        "path-exclude=/usr/share/doc/*",
        "path-include=/usr/share/doc/*/copyright",
        "path-exclude=/usr/share/man/*",
    ]


def test_synclist_entry_returns_the_mode_as_a_number():
    assert validate_synclist_entry("/etc/exports", "0644") == 0o644


@pytest.mark.parametrize(
    ("path", "mode"),
    [("etc/fstab", "0644"), ("/etc/../root/x", "0600"), ("/etc/", "0644"), ("/etc/x", "rw")],
)
def test_synclist_entry_rejects_relative_escaping_or_modeless_entries(path, mode):
    with pytest.raises(ValueError):
        validate_synclist_entry(path, mode)
