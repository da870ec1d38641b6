"""lsdef/mkdef/chdef/rmdef and nodels/nodestat, shaped like xCAT's."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from nodes.models import Group, Node
from nodes.tests.factories import cli, make_node
from snportal.models import AuditEvent

pytestmark = pytest.mark.django_db

XCAT_EXPORT = """# <xCAT data object stanza file>

default-node:
\tobjtype=node
\tmgt=ipmi
\tbmcusername=ADMIN

node01:
    objtype=node
    groups=compute,rack1,all
    mac=AA:BB:CC:00:00:01
    ip=10.0.0.1
    bmc=10.1.0.1
    bmcpassword=s3cret-pw
    arch=x86_64
    postscripts=syslog,remoteshell

# a comment between stanzas
node02:
    objtype=node
    groups=compute,all
    ip=10.0.0.2
    bmc=10.1.0.2:6230

compute:
    objtype=group
    grouptype=static
    members=node01,node02
"""


def test_mkdef_z_reads_an_xcat_export_with_defaults_and_mixed_types() -> None:
    out, err = cli("mkdef", "-z", stdin=XCAT_EXPORT)
    assert out.strip() == "3 object definitions have been created or modified."
    node01 = Node.objects.get(name="node01")
    assert node01.mac == "aa:bb:cc:00:00:01"
    assert node01.bmcusername == "ADMIN"
    assert node01.group_names() == ["compute", "rack1"]
    assert node01.bmcpassword == "s3cret-pw"
    assert Node.objects.get(name="node02").bmc_host_port == ("10.1.0.2", 6230)


def test_mkdef_z_reports_unknown_attributes_by_name_and_skips_them() -> None:
    _, err = cli("mkdef", "-z", stdin=XCAT_EXPORT)
    assert "node01: unknown attribute 'arch' skipped" in err
    assert "node01: unknown attribute 'postscripts' skipped" in err


def test_a_bad_stanza_file_writes_nothing() -> None:
    bad = XCAT_EXPORT.replace("ip=10.0.0.2", "ip=10.0.0.999")
    with pytest.raises(CommandError) as e:
        cli("mkdef", "-z", stdin=bad)
    assert "node02: ip: '10.0.0.999' is not an IPv4 address" in str(e.value)
    assert "nothing was written" in str(e.value)
    assert not Node.objects.exists() and not Group.objects.exists()


def test_a_malformed_stanza_file_names_the_line_and_writes_nothing() -> None:
    with pytest.raises(CommandError, match="line 3"):
        cli("mkdef", "-z", stdin="node01:\n    objtype=node\n  garbage line\n")
    assert not Node.objects.exists()


def test_stanza_round_trip_through_lsdef_and_mkdef_is_identical() -> None:
    cli("mkdef", "-z", stdin=XCAT_EXPORT)
    exported, _ = cli("lsdef", "-z", "all")
    cli("mkdef", "-z", "-f", stdin=exported)
    again, _ = cli("lsdef", "-z", "all")
    assert again == exported
    assert "groups=compute,rack1,all" in exported


def test_lsdef_z_masks_the_bmc_password() -> None:
    cli("mkdef", "-z", stdin=XCAT_EXPORT)
    out, _ = cli("lsdef", "-z", "node01")
    assert "bmcpassword=*******" in out
    assert "s3cret-pw" not in out


def test_lsdef_show_secrets_needs_a_named_admin(operator) -> None:
    make_node("node01", bmcpassword="s3cret-pw")
    with pytest.raises(CommandError, match="needs --user NAME of a portal admin"):
        cli("lsdef", "-l", "node01", "--show-secrets")
    with pytest.raises(CommandError, match="may not do this"):
        cli("lsdef", "-l", "node01", "--show-secrets", "--user", operator.username)


def test_lsdef_show_secrets_reveals_for_an_admin_and_is_audited(admin) -> None:
    make_node("node01", bmcpassword="s3cret-pw")
    out, _ = cli("lsdef", "-l", "node01", "--show-secrets", "--user", admin.username)
    assert "    bmcpassword=s3cret-pw" in out
    row = AuditEvent.objects.get(verb="node.show_secrets")
    assert row.username == admin.username and row.object_name == "node01"


def test_lsdef_without_flags_lists_names_and_types_sorted_as_xcat_does() -> None:
    for name in ("node10", "node2", "node1"):
        make_node(name)
    out, _ = cli("lsdef")
    assert out.splitlines() == ["node1  (node)", "node10  (node)", "node2  (node)"]


def test_lsdef_l_prints_object_name_blocks() -> None:
    make_node("node01", groups="compute", mac="aa:bb:cc:dd:ee:01")
    out, _ = cli("lsdef", "-l", "-o", "node01")
    assert out.startswith("Object name: node01\n")
    assert "    groups=compute\n" in out and "    mac=aa:bb:cc:dd:ee:01" in out


def test_lsdef_t_group_lists_members() -> None:
    make_node("node01", groups="compute")
    make_node("node02", groups="compute")
    out, _ = cli("lsdef", "-t", "group", "-l", "compute")
    assert "    members=node01,node02" in out and "    grouptype=static" in out


def test_mkdef_creates_a_range_of_nodes_with_attributes() -> None:
    out, _ = cli("mkdef", "-t", "node", "-o", "cn[01-03]", "groups=compute", "mgt=ipmi")
    assert out.strip() == "3 object definitions have been created or modified."
    assert list(Node.objects.values_list("name", flat=True)) == ["cn01", "cn02", "cn03"]


def test_mkdef_refuses_an_existing_node_without_f(capsys) -> None:
    make_node("node01", comments="kept")
    with pytest.raises(SystemExit):
        cli("mkdef", "-t", "node", "-o", "node01", "groups=all")
    assert Node.objects.get(name="node01").comments == "kept"


def test_mkdef_f_replaces_every_attribute_of_an_existing_node() -> None:
    make_node("node01", mac="aa:bb:cc:dd:ee:01", comments="old")
    cli("mkdef", "-f", "-t", "node", "-o", "node01", "groups=all", "comments=new")
    node = Node.objects.get(name="node01")
    assert (node.mac, node.comments) == ("", "new")


def test_chdef_changes_only_the_given_attributes_over_a_noderange() -> None:
    make_node("node01", groups="rack1", comments="keep")
    make_node("node02", groups="rack1")
    cli("chdef", "-t", "node", "-o", "rack1", "netboot=xnba")
    assert set(Node.objects.values_list("netboot", flat=True)) == {"xnba"}
    assert Node.objects.get(name="node01").comments == "keep"


def test_chdef_refuses_a_mac_that_another_node_has_naming_the_field() -> None:
    make_node("node01", mac="aa:bb:cc:dd:ee:01")
    make_node("node02")
    with pytest.raises(CommandError, match="node02: mac: MAC aa:bb:cc:dd:ee:01 is already used"):
        cli("chdef", "node02", "mac=aa-bb-cc-dd-ee-01")


def test_chdef_giving_one_ip_to_two_nodes_is_refused() -> None:
    make_node("node01")
    make_node("node02")
    with pytest.raises(CommandError, match="node02: ip: IP address 10.0.0.5 is also given"):
        cli("chdef", "node01,node02", "ip=10.0.0.5")


def test_chdef_z_changes_existing_nodes_from_a_stanza() -> None:
    make_node("node01")
    cli("chdef", "-z", stdin="node01:\n  objtype=node\n  comments=from stanza\n")
    assert Node.objects.get(name="node01").comments == "from stanza"


def test_chdef_as_a_viewer_is_refused(viewer) -> None:
    make_node("node01")
    with pytest.raises(CommandError, match="may not do this"):
        cli("chdef", "node01", "comments=x", "--user", viewer.username)


def test_rmdef_removes_a_noderange_and_audits_each_node() -> None:
    for name in ("node01", "node02", "node03"):
        make_node(name)
    out, _ = cli("rmdef", "-t", "node", "-o", "node01-node02")
    assert out.strip() == "2 object definitions have been removed."
    assert list(Node.objects.values_list("name", flat=True)) == ["node03"]
    assert AuditEvent.objects.filter(verb="node.delete").count() == 2


def test_rmdef_t_group_keeps_the_nodes() -> None:
    make_node("node01", groups="rack1,compute")
    cli("rmdef", "-t", "group", "-o", "rack1")
    assert Node.objects.get(name="node01").group_names() == ["compute"]


def test_nodels_prints_a_noderange_sorted_as_xcat_does() -> None:
    for name in ("node10", "node2", "node03", "node1"):
        make_node(name, groups="rack1")
    out, _ = cli("nodels", "rack1,-node03")
    assert out.splitlines() == ["node1", "node10", "node2"]


def test_nodels_exits_non_zero_naming_what_is_unknown() -> None:
    make_node("node01")
    with pytest.raises(CommandError, match="Invalid nodes and/or groups in noderange: nodeX"):
        cli("nodels", "node01,nodeX")


def test_nodels_reads_a_noderange_file_with_caret(tmp_path) -> None:
    make_node("node01")
    make_node("node02")
    (tmp_path / "list").write_text("node02\n")
    out, _ = cli("nodels", f"^{tmp_path}/list")
    assert out.splitlines() == ["node02"]


def test_nodels_prints_attributes_as_node_colon_value() -> None:
    make_node("node01", groups="compute")
    out, _ = cli("nodels", "node01", "groups")
    assert out.strip() == "node01: compute"


def test_nodestat_prints_each_nodes_status() -> None:
    make_node("node01", status="booted")
    make_node("node02")
    out, _ = cli("nodestat", "node01,node02")
    assert out.splitlines() == ["node01: booted", "node02: unknown"]


def test_definition_changes_are_audited_with_only_what_changed() -> None:
    make_node("node01", comments="a")
    cli("chdef", "node01", "comments=b")
    row = AuditEvent.objects.get(verb="node.update")
    assert (row.before, row.after) == ({"comments": "a"}, {"comments": "b"})
