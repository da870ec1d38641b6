"""Tests for xCAT stanza files: real xCAT output, defaults, round trips, bad files."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcat.stanza import HEADER, Stanza, StanzaError, format, parse

# `lsdef -z c910f04x42` as printed in xCAT's documentation (Mixed Cluster Management).
XCAT_NODE_EXPORT = textwrap.dedent("""\
    # <xCAT data object stanza file>

    c910f04x42:
        objtype=node
        arch=x86_64
        bmc=10.4.42.254
        bmcpassword=PASSW0RD
        bmcusername=USERID
        chain=runcmd=bmcsetup,shell
        cons=ipmi
        groups=all
        initrd=xcat/osimage/rhels6.6-x86_64-install-compute/initrd.img
        installnic=mac
        kcmdline=quiet repo=http://!myipfn!:80/install/rhels6.6/x86_64 ks=http://!myipfn!:80/install/autoinst/c910f04x42 ksdevice=34:40:b5:b9:c0:18  cmdline  console=tty0 console=ttyS0,115200n8r
        kernel=xcat/osimage/rhels6.6-x86_64-install-compute/vmlinuz
        mac=34:40:b5:b9:c0:18
        mgt=ipmi
        netboot=xnba
        nodetype=osi
        os=rhels6.6
        profile=compute
        provmethod=rhels6.6-x86_64-install-compute
        serialflow=hard
        serialport=0
        serialspeed=115200
    """)  # noqa: E501 - xCAT writes long kernel command lines on one line

# Two nodes exported by `lsdef -z` on a small qemu cluster (values with spaces, colons,
# parentheses and '=').
XCAT_TWO_NODES = textwrap.dedent("""\
    # <xCAT data object stanza file>

    n1:
        objtype=node
        arch=x86_64
        bmc=192.168.123.4
        chain=runcmd=bmcsetup,osimage=centos7.5-x86_64-netboot-compute
        currstate=netboot centos7.5-x86_64-compute
        groups=all
        mac=00:00:00:00:00:02
        mgt=ipmi
        mtm=QEMU:Standard PC (Q35 + ICH9, 2009)
        status=booted
        statustime=02-17-2019 18:26:59

    n2:
        objtype=node
        arch=x86_64
        bmc=192.168.123.6
        groups=all
        mac=00:00:00:00:00:03
        mgt=ipmi
        status=powering-on
    """)

# The osimage heredoc of xCAT's own test scripts (mkdef -z <<EOF), with a quoted value.
XCAT_OSIMAGE = textwrap.dedent("""\
    # <xCAT data object stanza file>

    rhels7.4-ppc64le-netboot-cudafull:
        objtype=osimage
        exlist=/opt/xcat/share/xcat/netboot/rh/compute.rhels7.ppc64le.exlist
        imagetype=linux
        osarch=ppc64le
        otherpkgdir="/install/post/otherpkgs/rhels7.4/ppc64le"
        permission=755
        profile=compute
        provmethod=netboot
        rootimgdir=/install/netboot/rhels7.4/ppc64le/rhels7.4-ppc64le-netboot-cudafull
    """)

# A hand-written file in the style of xCAT's docs: no blank line after the header,
# two-space indentation, trailing spaces.
XCAT_NICS = (
    "# <xCAT data object stanza file>\n"
    "cn1:\n"
    "  objtype=node\n"
    "  nicips.eth1=11.1.89.7|12.1.89.7 \n"
    "  groups=kvm,vm,all\n"
)


def one(text: str) -> Stanza:
    [stanza] = parse(text)
    return stanza


def error(text: str) -> StanzaError:
    with pytest.raises(StanzaError) as caught:
        parse(text)
    return caught.value


# --- reading xCAT's output ---------------------------------------------------------


def test_xcat_node_export_is_read_with_every_attribute():
    node = one(XCAT_NODE_EXPORT)
    assert (node.name, node.objtype, node.line) == ("c910f04x42", "node", 3)
    assert len(node.attrs) == 21 and "objtype" not in node.attrs


def test_values_keep_equal_signs_after_the_first():
    assert one(XCAT_NODE_EXPORT).attrs["chain"] == "runcmd=bmcsetup,shell"


def test_values_keep_inner_spaces():
    kcmdline = one(XCAT_NODE_EXPORT).attrs["kcmdline"]
    assert "ksdevice=34:40:b5:b9:c0:18  cmdline  console=tty0" in kcmdline


def test_several_objects_are_read_in_file_order():
    assert [s.name for s in parse(XCAT_TWO_NODES)] == ["n1", "n2"]


def test_values_with_colons_and_parentheses_are_kept():
    assert parse(XCAT_TWO_NODES)[0].attrs["mtm"] == "QEMU:Standard PC (Q35 + ICH9, 2009)"


def test_osimage_stanza_is_read_with_its_quotes_removed():
    image = one(XCAT_OSIMAGE)
    assert image.objtype == "osimage"
    assert image.attrs["otherpkgdir"] == "/install/post/otherpkgs/rhels7.4/ppc64le"


def test_hand_written_file_with_other_indentation_is_read():
    assert one(XCAT_NICS).attrs == {"nicips.eth1": "11.1.89.7|12.1.89.7", "groups": "kvm,vm,all"}


def test_tabs_indent_like_spaces():
    assert one("node01:\n\tobjtype=node\n\tmgt=ipmi\n").attrs == {"mgt": "ipmi"}


def test_spaces_around_the_equal_sign_are_ignored():
    assert one("node01:\n  objtype = node\n  mgt = ipmi\n").attrs == {"mgt": "ipmi"}


def test_comments_may_appear_anywhere():
    text = (
        "# first\nnode01:\n  # why ipmi\n  objtype=node\n    # indented comment\n  mgt=ipmi\n#end"
    )
    assert one(text).attrs == {"mgt": "ipmi"}


def test_empty_value_is_kept_as_empty():
    assert one("node01:\n  objtype=node\n  comments=\n").attrs == {"comments": ""}


def test_header_is_optional():
    assert one("node01:\n  objtype=node\n").name == "node01"


def test_windows_line_endings_are_read():
    assert one("node01:\r\n  objtype=node\r\n  mgt=ipmi\r\n").attrs == {"mgt": "ipmi"}


def test_object_names_may_hold_colons():
    assert one("fd59::/64:\n  objtype=network\n").name == "fd59::/64"


def test_empty_file_has_no_objects():
    assert parse(HEADER + "\n") == []


# --- default stanzas ---------------------------------------------------------------

DEFAULTS = textwrap.dedent("""\
    node00:
        objtype=node
        groups=early

    default-node:
        groups=compute,all
        mgt=ipmi

    node01:
        objtype=node

    node02:
        objtype=node
        groups=gpu,all

    img:
        objtype=osimage
    """)


def test_default_stanza_gives_its_attributes_to_following_objects():
    assert parse(DEFAULTS)[1].attrs == {"groups": "compute,all", "mgt": "ipmi"}


def test_default_stanza_does_not_override_explicit_attributes():
    assert parse(DEFAULTS)[2].attrs == {"groups": "gpu,all", "mgt": "ipmi"}


def test_default_stanza_does_not_reach_back_to_earlier_objects():
    assert parse(DEFAULTS)[0].attrs == {"groups": "early"}


def test_default_stanza_applies_only_to_its_objtype():
    assert parse(DEFAULTS)[3].attrs == {}


def test_default_stanza_is_not_an_object():
    assert [s.name for s in parse(DEFAULTS)] == ["node00", "node01", "node02", "img"]


def test_a_second_default_stanza_adds_to_the_first():
    text = "default-node:\n mgt=ipmi\ndefault-node:\n cons=ipmi\nn1:\n objtype=node\n"
    assert one(text).attrs == {"mgt": "ipmi", "cons": "ipmi"}


def test_default_stanza_with_another_objtype_is_an_error():
    assert error("default-node:\n  objtype=osimage\n").line == 1


# --- bad files ---------------------------------------------------------------------


def test_attribute_before_any_name_is_an_error_on_its_line():
    caught = error("# header\nobjtype=node\nnode01:\n")
    assert (caught.line, str(caught).startswith("line 2:")) == (2, True)


def test_line_without_equal_sign_is_an_error():
    assert error("node01:\n  objtype=node\n  mgt ipmi\n").line == 3


def test_object_without_objtype_is_an_error_on_its_name_line():
    caught = error("node01:\n  objtype=node\n\nnode02:\n  mgt=ipmi\n")
    assert caught.line == 4 and "no objtype" in caught.message


def test_last_object_without_objtype_is_an_error():
    assert error("node01:\n").line == 1


def test_duplicate_name_is_an_error_naming_the_first_definition():
    caught = error("node01:\n  objtype=node\nnode01:\n  objtype=node\n")
    assert caught.line == 3 and "first on line 1" in caught.message


def test_attribute_given_twice_is_an_error():
    assert error("node01:\n  objtype=node\n  mgt=ipmi\n  mgt=none\n").line == 4


def test_name_with_spaces_is_an_error():
    assert error("node 01:\n  objtype=node\n").line == 1


def test_empty_attribute_name_is_an_error():
    assert error("node01:\n  objtype=node\n  =ipmi\n").line == 3


def test_bad_objtype_is_an_error():
    assert error("node01:\n  objtype=no de\n").line == 1


# --- writing -----------------------------------------------------------------------


def test_xcat_export_is_written_back_byte_for_byte():
    assert format(parse(XCAT_NODE_EXPORT)) == XCAT_NODE_EXPORT


def test_several_xcat_objects_are_written_back_byte_for_byte():
    assert format(parse(XCAT_TWO_NODES)) == XCAT_TWO_NODES


def test_objtype_comes_first_then_attributes_in_alphabetical_order():
    text = format([Stanza("n1", "node", {"mgt": "ipmi", "arch": "x86_64", "bmc": "10.0.0.1"})])
    assert text.splitlines()[3:] == [
        "    objtype=node",
        "    arch=x86_64",
        "    bmc=10.0.0.1",
        "    mgt=ipmi",
    ]


def test_written_file_starts_with_the_xcat_header_and_a_blank_line():
    assert format([Stanza("n1", "node")]).startswith(HEADER + "\n\nn1:\n")


def test_values_with_edge_spaces_or_quotes_are_quoted_and_read_back():
    stanza = Stanza("n1", "node", {"a": " padded ", "b": '"quoted"', "c": 'say "hi" there'})
    assert parse(format([stanza])) == [stanza]


def test_value_spanning_lines_is_written_on_one_line_and_read_back():
    stanza = Stanza("n1", "node", {"comments": "rack 4\nslot 2\r\nend"})
    text = format([stanza])
    assert '    comments="rack 4\\nslot 2\\r\\nend"\n' in text
    assert parse(text) == [stanza]


def test_values_with_backslashes_quotes_and_hashes_round_trip():
    stanza = Stanza(
        "n1",
        "node",
        {"a": ' C:\\new "x" ', "b": "# not a comment", "c": "=x=y", "d": '"\\n"', "e": "\t"},
    )
    assert parse(format([stanza])) == [stanza]


def test_unquoted_backslashes_are_read_as_xcat_reads_them():
    assert one("n1:\n  objtype=node\n  kcmdline=a\\nb\n").attrs == {"kcmdline": "a\\nb"}


def test_quoted_escapes_are_decoded():
    text = 'n1:\n  objtype=node\n  comments="a\\nb\\x01\\u2028\\q"\n'
    assert one(text).attrs == {"comments": "a\nb\x01\u2028\\q"}


def test_plain_values_are_written_as_xcat_writes_them():
    text = format([Stanza("n1", "node", {"kcmdline": 'console=ttyS0 a\\b say "hi"'})])
    assert '    kcmdline=console=ttyS0 a\\b say "hi"\n' in text


def test_name_that_would_read_back_as_defaults_is_refused():
    with pytest.raises(ValueError, match="cannot be written"):
        format([Stanza("default-node", "node")])


def test_attribute_named_objtype_is_refused():
    with pytest.raises(ValueError, match="cannot be written"):
        format([Stanza("n1", "node", {"objtype": "osimage"})])


def test_line_number_does_not_affect_equality():
    assert Stanza("n1", "node", {}, line=3) == Stanza("n1", "node", {}, line=9)


names = st.from_regex(r"[a-z][a-z0-9_.:-]{0,15}", fullmatch=True).filter(
    lambda n: not n.startswith("default-")
)
attr_names = st.from_regex(r"[a-z][a-z0-9_.]{0,12}", fullmatch=True).filter(
    lambda a: a != "objtype"
)
# Any text at all: line breaks, controls, quotes, backslashes, edge spaces.
values = st.text(max_size=30)
stanzas = st.builds(
    Stanza,
    names,
    st.sampled_from(["node", "osimage", "group"]),
    st.dictionaries(attr_names, values, max_size=8),
)


@given(st.lists(stanzas, max_size=6, unique_by=lambda s: s.name))
def test_any_writable_stanzas_read_back_unchanged(written):
    assert parse(format(written)) == written
