"""The definition verbs behave as xCAT's own test cases (xCAT-test/autotest/testcase/
{lsdef,mkdef,chdef,rmdef,nodels}) expect, and ``lsdef -z | mkdef -z`` never loses data."""

from __future__ import annotations

import io
import sys

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.urls import reverse

from nodes import services
from nodes.models import Group, Node, NodeGroup
from nodes.tests.factories import make_node
from snportal import audit

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """A verb as a shell runs it: (exit status, stdout, stderr), failures included."""
    out, err = io.StringIO(), io.StringIO()
    old, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def rows() -> list[dict]:
    """Every node row and membership, to prove an import changed nothing."""
    nodes = [model_to_dict(n) | {"pk": n.pk} for n in Node.objects.order_by("name")]
    # Membership rows are rewritten on import; what they say must not change.
    members = list(
        NodeGroup.objects.order_by("node__name", "position").values("node", "group", "position")
    )
    groups = list(Group.objects.order_by("name").values())
    return [*nodes, *members, *groups]


# --- round trips ------------------------------------------------------------------------


def test_round_trip_keeps_passwords_empty_cons_and_serial_comments_and_groups() -> None:
    run("mkdef", "-t", "node", "-o", "n1", "groups=all,aix", "mgt=ipmi", "bmc=10.1.0.1",
        "bmcpassword=s3cret", "cons=", "serialport=", "comments=line one\nline two")  # fmt: skip
    run("mkdef", "-t", "node", "-o", "n2", "groups=rack1,all", 'comments=  # x = "y"  ')
    call_command("chdef", "-t", "group", "-o", "rack1", "description=the first rack")
    before = rows()
    _, first, _ = run("lsdef", "-z", "all")
    _, _, _ = run("lsdef", "-t", "group", "-z")
    code, _, err = run("mkdef", "-z", "-f", stdin=first)
    _, second, _ = run("lsdef", "-z", "all")
    assert (code, err) == (0, "")
    assert second == first
    assert rows() == before
    assert Node.objects.get(name="n1").bmcpassword == "s3cret"
    assert "    cons=\n" in first and "    serialport=\n" in first
    assert '    comments="line one\\nline two"\n' in first


def test_group_stanzas_round_trip_with_empty_description() -> None:
    make_node("n1", groups="rack1,rack2")
    call_command("chdef", "-t", "group", "-o", "rack1", "description=a")
    _, first, _ = run("lsdef", "-t", "group", "-z")
    before = rows()
    assert run("mkdef", "-z", "-f", stdin=first)[0] == 0
    assert run("lsdef", "-t", "group", "-z")[1] == first and rows() == before


def test_password_placeholder_keeps_the_stored_password_on_chdef_z() -> None:
    make_node("n1", groups="all", bmcpassword="s3cret")
    _, text, _ = run("lsdef", "-z", "n1")
    assert "    bmcpassword=*******\n" in text
    run("chdef", "-z", stdin=text)
    assert Node.objects.get(name="n1").bmcpassword == "s3cret"


def test_password_placeholder_for_a_new_node_sets_none_and_says_so() -> None:
    make_node("n1", groups="all", bmcpassword="s3cret")
    _, text, _ = run("lsdef", "-z", "n1")
    code, _, err = run("mkdef", "-z", stdin=text.replace("n1:", "n2:"))
    assert code == 0 and "n2: bmcpassword: ******* stands for a password" in err
    assert Node.objects.get(name="n2").bmcpassword == ""


def test_lsdef_z_of_a_multiline_comment_from_the_web_form_round_trips(admin_web) -> None:
    make_node("n1", groups="all")
    data = {"groups": "all", "mgt": "ipmi", "cons": "ipmi", "netboot": "ipxe"}
    data["comments"] = '  first line\r\nsecond = "two" # three\r\n'
    admin_web.post(reverse("nodes:edit", args=["n1"]), data)
    assert Node.objects.get(name="n1").comments == data["comments"]
    _, text, _ = run("lsdef", "-z", "n1")
    Node.objects.filter(name="n1").update(comments="")
    run("chdef", "-z", stdin=text)
    assert Node.objects.get(name="n1").comments == data["comments"]


def test_a_nul_character_in_comments_is_refused_naming_the_attribute() -> None:
    make_node("n1", groups="all")
    with pytest.raises(Exception, match="comments: contains a NUL character"):
        call_command("chdef", "n1", "comments=a\x00b", stdout=io.StringIO())


# --- lsdef ------------------------------------------------------------------------------


def test_lsdef_without_l_prints_whole_definition() -> None:
    make_node("n1", groups="all,aix", mac="aa:bb:cc:dd:ee:01")
    _, out, _ = run("lsdef", "n1")
    assert out.startswith("Object name: n1\n")
    assert "    groups=all,aix\n" in out and "    mac=aa:bb:cc:dd:ee:01" in out


def test_lsdef_without_arguments_lists_names_with_their_type() -> None:
    make_node("testnodell", groups="all")
    assert run("lsdef")[1] == "testnodell  (node)\n"


def test_lsdef_s_lists_only_names() -> None:
    make_node("n1", groups="all")
    assert run("lsdef", "-s", "n1")[1] == "n1  (node)\n"


def test_lsdef_i_shows_only_those_attributes_even_when_empty() -> None:
    make_node("n1", groups="all", mac="aa:bb:cc:dd:ee:01")
    _, out, _ = run("lsdef", "-i", "groups,ip", "n1")
    assert out == "Object name: n1\n    groups=all\n    ip=\n"


def test_lsdef_i_reports_an_invalid_attribute_and_lists_the_rest() -> None:
    make_node("n1", groups="all")
    code, out, err = run("lsdef", "-i", "groups,colour", "n1")
    assert "Error: 'colour' is not a valid attribute name for an object type of 'node'." in err
    assert (code, out) == (1, "Object name: n1\n    groups=all\n")


def test_lsdef_missing_name_is_reported_and_the_rest_still_listed() -> None:
    make_node("testnode", groups="all")
    code, out, err = run("lsdef", "-t", "node", "testnode,testnode1")
    assert err == "Error: Could not find an object named 'testnode1' of type 'node'.\n"
    assert code == 1 and out.startswith("Object name: testnode\n")


def test_lsdef_t_group_of_a_missing_group_names_it() -> None:
    code, _, err = run("lsdef", "-t", "group", "-o", "testgrp")
    assert (code, err) == (1, "Error: Could not find an object named 'testgrp' of type 'group'.\n")


def test_lsdef_of_an_unknown_type_says_it_is_not_valid() -> None:
    with pytest.raises(Exception, match="Type 'wrongtype' is not a valid xCAT object type"):
        run("lsdef", "-t", "wrongtype", "-o", "test")


# --- mkdef ------------------------------------------------------------------------------


def test_mkdef_keeps_the_group_order_as_given() -> None:
    run("mkdef", "-t", "node", "-o", "testnode,testnode1", "groups=all,aix")
    assert (
        run("lsdef", "-i", "groups", "testnode")[1] == "Object name: testnode\n    groups=all,aix\n"
    )
    assert services.resolve("all") == ["testnode", "testnode1"]
    assert list(Group.objects.values_list("name", flat=True)) == ["aix"]


def test_mkdef_z_skips_existing_objects_and_creates_the_rest() -> None:
    make_node("old", groups="all", comments="kept")
    text = "old:\n objtype=node\n groups=all\nfresh:\n objtype=node\n groups=all\n"
    code, out, err = run("mkdef", "-z", stdin=text)
    assert code == 1 and "Error: A definition for 'old' already exists." in err
    assert "use the force '-f' option" in err and out == ""
    assert Node.objects.get(name="old").comments == "kept"
    assert Node.objects.filter(name="fresh").exists()


def test_mkdef_refuses_a_node_without_groups() -> None:
    code, _, err = run("mkdef", "-t", "node", "-o", "n1", "mgt=ipmi")
    assert code == 1 and not Node.objects.exists()
    assert "Error: Attribute 'groups' is not specified for node 'n1', skipping" in err


def test_mkdef_refuses_bmc_without_mgt() -> None:
    code, _, err = run("mkdef", "-t", "node", "-o", "n1", "groups=all", "bmc=10.1.0.1")
    assert code == 1 and not Node.objects.exists()
    assert "Error: Cannot set the attr='bmc' attribute unless 'mgt=ipmi'." in err


def test_mkdef_of_a_static_group_adds_it_last_to_each_member() -> None:
    run("mkdef", "-t", "node", "-o", "testnode1", "groups=all,systemp")
    call_command("mkdef", "-t", "group", "-o", "testgrp", "members=testnode1", stdout=io.StringIO())
    assert "    groups=all,systemp,testgrp\n" in run("lsdef", "testnode1")[1]


# --- chdef ------------------------------------------------------------------------------


def test_chdef_creates_a_missing_node_in_group_all() -> None:
    code, out, _ = run("chdef", "-t", "node", "-o", "switch-template", "comments=x")
    assert code == 0
    assert out == (
        "1 object definitions have been created or modified.\n"
        "New object definitions 'switch-template' have been created.\n"
    )
    assert Node.objects.get(name="switch-template").groups_as_given() == ["all"]


def test_chdef_p_appends_to_the_groups() -> None:
    make_node("testnode", groups="all")
    run("chdef", "-p", "-t", "node", "-o", "testnode", "groups=aix")
    assert "    groups=all,aix\n" in run("lsdef", "-l", "testnode")[1]


def test_chdef_p_after_the_noderange_creates_and_groups() -> None:
    assert run("chdef", "abcnode1", "-p", "groups=abc")[0] == 0
    assert Node.objects.get(name="abcnode1").groups_as_given() == ["abc"]


def test_chdef_m_removes_from_the_groups() -> None:
    make_node("testnode", groups="all,testgroup")
    run("chdef", "-m", "-t", "node", "-o", "testnode", "groups=testgroup")
    assert "testgroup" not in run("lsdef", "-l", "testnode")[1]


def test_chdef_m_on_a_missing_node_is_refused() -> None:
    code, _, err = run("chdef", "-m", "ghost", "groups=x")
    assert code == 1 and "'-m' option is not valid since the 'ghost' definition" in err


def test_chdef_p_and_m_change_group_members() -> None:
    for name in ("t1", "t2", "t3"):
        make_node(name, groups="all")
    call_command("chdef", "-t", "group", "-o", "g", "members=t1", stdout=io.StringIO())
    run("chdef", "-t", "group", "-o", "g", "-p", "members=t2,t3")
    run("chdef", "-t", "group", "-o", "g", "-m", "members=t1")
    assert services.group_map()["g"] == ["t2", "t3"]


def test_chdef_n_renames_the_node_keeping_its_definition() -> None:
    make_node("testnode1", groups="all,systemp", comments="x")
    code, out, _ = run("chdef", "testnode1", "-n", "testnode2")
    assert (code, out) == (0, "Changed the object name from testnode1 to testnode2.\n")
    assert "    groups=all,systemp\n" in run("lsdef", "testnode2")[1]
    assert "Could not find" in run("lsdef", "testnode1")[2]


def test_chdef_z_creates_what_is_missing() -> None:
    run("chdef", "-z", stdin="n9:\n objtype=node\n comments=new\n")
    assert Node.objects.get(name="n9").groups_as_given() == ["all"]


# --- rmdef, nodels, rpower --------------------------------------------------------------


def test_rmdef_reports_a_missing_name_and_removes_the_rest() -> None:
    make_node("testnode", groups="all")
    code, out, err = run("rmdef", "-t", "node", "testnode,switch-template")
    assert code == 1 and not Node.objects.exists()
    assert "Error: Could not find an object named 'switch-template' of type 'node'." in err
    assert out == "1 object definitions have been removed.\n"


def test_rmdef_of_only_missing_names_removes_nothing() -> None:
    code, out, _ = run("rmdef", "switch-template")
    assert (code, out) == (1, "No objects have been removed from the xCAT database.\n")


def test_nodels_groups_prints_them_as_given() -> None:
    make_node("testnode", groups="all,aix")
    assert run("nodels", "testnode", "groups")[1] == "testnode: all,aix\n"


def test_nodels_selector_compares_the_groups_as_given() -> None:
    make_node("testnode", groups="rh4.123456789")
    assert run("nodels", "groups==rh4.123456789")[1] == "testnode\n"


def test_rpower_status_is_an_alias_of_stat(admin) -> None:
    make_node("n1", groups="all")
    job = services.request_power("rpower", ["n1"], "status", user=admin, actor=audit.cli_actor())
    assert job.params["verb"] == "stat"
