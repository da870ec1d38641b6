"""Node pages: who may open and do what, filters, forms, bulk edit and CSV import."""

from __future__ import annotations

import pytest
from django.test import Client

from nodes.models import Group, Node
from nodes.tests.factories import make_node
from snportal.models import AuditEvent, Job

pytestmark = pytest.mark.django_db


# --- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/nodes/", "/nodes/node01/", "/nodes/groups/", "/nodes/groups/rack1/"]
)
def test_a_viewer_can_read_every_node_page(viewer_web: Client, path: str) -> None:
    make_node("node01", groups="rack1")
    assert viewer_web.get(path).status_code == 200


def test_the_node_list_pages_10000_nodes_with_a_bounded_number_of_queries(
    viewer_web: Client, django_assert_max_num_queries
) -> None:
    Node.objects.bulk_create(
        [Node(name=f"n{i:05d}", sortkey=f"n{i:020d}") for i in range(1, 10001)]
    )
    with django_assert_max_num_queries(10):
        html = viewer_web.get("/nodes/?page=2").content.decode()
    assert "n00101" in html and "n00201" not in html
    assert "Page 2 of 100 (10000)" in html


def test_the_node_list_sorts_names_naturally(viewer_web: Client) -> None:
    for name in ("node10", "node2", "node1"):
        make_node(name)
    html = viewer_web.get("/nodes/").content.decode()
    assert html.index(">node1<") < html.index(">node2<") < html.index(">node10<")


def test_the_node_list_filters_by_noderange(viewer_web: Client) -> None:
    for name in ("node01", "node02", "node03"):
        make_node(name, groups="rack1")
    html = viewer_web.get("/nodes/", {"noderange": "rack1,-node02"}).content.decode()
    assert ">node01<" in html and ">node03<" in html and ">node02<" not in html


def test_the_node_list_shows_a_noderange_error_on_the_field(viewer_web: Client) -> None:
    make_node("node01")
    html = viewer_web.get("/nodes/", {"noderange": "ghost"}).content.decode()
    assert "Invalid nodes and/or groups in noderange: ghost" in html


def test_the_node_list_filters_by_group_and_status(viewer_web: Client) -> None:
    make_node("node01", groups="rack1", status="booted")
    make_node("node02", groups="rack1")
    make_node("node03", status="booted")
    html = viewer_web.get("/nodes/", {"group": "rack1", "status": "booted"}).content.decode()
    assert ">node01<" in html and ">node02<" not in html and ">node03<" not in html


def test_the_node_list_never_reads_a_noderange_file(viewer_web: Client, tmp_path) -> None:
    make_node("node01")
    (tmp_path / "f").write_text("node01\n")
    html = viewer_web.get("/nodes/", {"noderange": f"^{tmp_path}/f"}).content.decode()
    assert 'class="invalid-feedback' in html and ">node01<" not in html


def test_operators_see_power_buttons_and_viewers_do_not(
    operator_web: Client, viewer_web: Client
) -> None:
    make_node("node01")
    for path in ("/nodes/", "/nodes/node01/"):
        assert 'data-testid="power-buttons"' in operator_web.get(path).content.decode()
        assert 'data-testid="power-buttons"' not in viewer_web.get(path).content.decode()


def test_the_node_page_shows_the_timeline(viewer_web: Client) -> None:
    from nodes.services import add_events

    node = make_node("node01")
    add_events([node], "power", "rpower on: on")
    assert "rpower on: on" in viewer_web.get("/nodes/node01/").content.decode()


# --- power actions ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nodes/power/", "/nodes/setboot/"])
def test_a_viewer_posting_a_power_action_is_refused_and_audited(
    viewer_web: Client, path: str
) -> None:
    make_node("node01", bmc="127.0.0.1:9")
    response = viewer_web.post(path, {"node": "node01", "action": "stat"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(outcome="denied").count() == 1
    assert not Job.objects.exists()


def test_an_operator_power_action_queues_a_job_after_commit(
    operator_web: Client, django_capture_on_commit_callbacks
) -> None:
    make_node("node01", bmc="127.0.0.1:9")
    make_node("node02", bmc="127.0.0.1:9")
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_web.post(
            "/nodes/power/", {"node": ["node02", "node01"], "action": "on"}
        )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.params["nodes"], job.params["verb"]) == (
        "rpower",
        ["node01", "node02"],
        "on",
    )
    from django_q.models import OrmQ

    assert not OrmQ.objects.exists()  # handed to the workers only after commit
    for callback in callbacks:
        callback()
    assert OrmQ.objects.count() == 1


def test_a_power_action_takes_a_noderange(operator_web: Client) -> None:
    make_node("node01", groups="rack1")
    operator_web.post("/nodes/setboot/", {"noderange": "rack1", "action": "net"})
    assert Job.objects.get().params["nodes"] == ["node01"]


def test_a_power_action_on_unknown_nodes_queues_nothing(operator_web: Client) -> None:
    response = operator_web.post("/nodes/power/", {"node": "ghost", "action": "on"}, follow=True)
    assert "Invalid nodes and/or groups in noderange: ghost" in response.content.decode()
    assert not Job.objects.exists()


# --- definitions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/nodes/new/", "/nodes/node01/edit/", "/nodes/bulk-edit/", "/nodes/import/"]
)
def test_operators_cannot_open_definition_forms(operator_web: Client, path: str) -> None:
    make_node("node01")
    assert operator_web.get(path).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/nodes/new/",
        "/nodes/node01/edit/",
        "/nodes/node01/delete/",
        "/nodes/bulk-edit/",
        "/nodes/import/",
        "/nodes/groups/new/",
        "/nodes/groups/rack1/",
        "/nodes/groups/rack1/delete/",
    ],
)
def test_an_operator_posting_a_definition_change_is_refused_and_audited(
    operator_web: Client, path: str
) -> None:
    make_node("node01", groups="rack1")
    assert operator_web.post(path, {"name": "x", "noderange": "node01"}).status_code == 403
    assert AuditEvent.objects.filter(outcome="denied").count() == 1
    assert Node.objects.count() == 1 and Group.objects.count() == 1


def test_an_admin_creates_a_node_and_the_password_is_stored_encrypted(admin_web: Client) -> None:
    response = admin_web.post(
        "/nodes/new/",
        {
            "name": "node01",
            "mac": "AA:BB:CC:DD:EE:01",
            "bmc": "10.1.0.1",
            "bmcpassword": "pw-1",
            "mgt": "ipmi",
            "netboot": "ipxe",
            "groups": "compute",
        },
    )
    assert response.status_code == 302
    node = Node.objects.get(name="node01")
    assert node.mac == "aa:bb:cc:dd:ee:01" and node.bmcpassword == "pw-1"
    assert "pw-1" not in node.bmcpassword_encrypted


def test_the_node_form_names_the_field_that_is_wrong(admin_web: Client) -> None:
    make_node("node01", ip="10.0.0.1")
    response = admin_web.post(
        "/nodes/new/",
        {
            "name": "node02",
            "mac": "zz",
            "ip": "10.0.0.1",
            "bmc": "host:99999",
            "mgt": "ipmi",
            "netboot": "ipxe",
        },
    )
    form = response.context["form"]
    assert "is not a MAC address" in form.errors["mac"][0]
    assert "is already used by node01" in form.errors["ip"][0]
    assert "is not a number from 1 to 65535" in form.errors["bmc"][0]


def test_a_duplicate_name_is_refused_on_the_name_field(admin_web: Client) -> None:
    make_node("node01")
    response = admin_web.post("/nodes/new/", {"name": "node01", "mgt": "ipmi", "netboot": "ipxe"})
    assert "already exists" in str(response.context["form"].errors)


def test_editing_with_a_blank_password_keeps_it(admin_web: Client) -> None:
    make_node("node01", bmcpassword="keep-me")
    admin_web.post("/nodes/node01/edit/", {"mgt": "ipmi", "netboot": "ipxe", "comments": "x"})
    node = Node.objects.get(name="node01")
    assert (node.bmcpassword, node.comments) == ("keep-me", "x")


def test_an_admin_deletes_a_node(admin_web: Client) -> None:
    make_node("node01")
    assert admin_web.post("/nodes/node01/delete/").status_code == 302
    assert not Node.objects.exists()


def test_bulk_edit_changes_every_node_of_a_noderange(admin_web: Client) -> None:
    for name in ("node01", "node02", "node03"):
        make_node(name)
    admin_web.post(
        "/nodes/bulk-edit/", {"noderange": "node01-node02", "changes": "netboot=xnba\ngroups=rack9"}
    )
    assert list(Node.objects.filter(netboot="xnba").values_list("name", flat=True)) == [
        "node01",
        "node02",
    ]
    assert Group.objects.get(name="rack9").nodes.count() == 2


def test_bulk_edit_is_all_or_nothing(admin_web: Client) -> None:
    make_node("node01")
    make_node("node02")
    response = admin_web.post(
        "/nodes/bulk-edit/", {"noderange": "node01,node02", "changes": "ip=10.0.0.7"}
    )
    assert "node02: ip: IP address 10.0.0.7 is also given to node01" in response.content.decode()
    assert not Node.objects.filter(ip__isnull=False).exists()


def test_groups_are_created_described_and_deleted(admin_web: Client) -> None:
    admin_web.post("/nodes/groups/new/", {"name": "rack1", "description": "first rack"})
    make_node("node01", groups="rack1")
    admin_web.post("/nodes/groups/rack1/", {"description": "rack one"})
    assert Group.objects.get(name="rack1").description == "rack one"
    admin_web.post("/nodes/groups/rack1/delete/")
    assert not Group.objects.exists() and Node.objects.get(name="node01").group_names() == []


# --- CSV import -------------------------------------------------------------------------

CSV = (
    "name,groups,mac,ip,bmc,bmcpassword,color\n"
    "node01,compute,aa:bb:cc:dd:ee:01,10.0.0.1,10.1.0.1,csv-pw,red\n"
    "node02,compute,,10.0.0.2,10.1.0.2,,blue\n"
)


def test_csv_import_previews_without_writing_and_masks_passwords(admin_web: Client) -> None:
    html = admin_web.post("/nodes/import/", {"text": CSV}).content.decode()
    assert "every row is valid" in html and "unknown column &#x27;color&#x27; skipped" in html
    assert "csv-pw" not in html
    assert not Node.objects.exists()


def test_csv_import_confirm_writes_every_row(admin_web: Client) -> None:
    preview = admin_web.post("/nodes/import/", {"text": CSV})
    admin_web.post("/nodes/import/", {"payload": preview.context["payload"]})
    assert list(Node.objects.values_list("name", flat=True)) == ["node01", "node02"]
    assert Node.objects.get(name="node01").bmcpassword == "csv-pw"


def test_csv_import_shows_errors_per_row_and_writes_nothing(admin_web: Client) -> None:
    bad = CSV.replace("10.0.0.2", "10.0.0.1")
    response = admin_web.post("/nodes/import/", {"text": bad})
    rows = response.context["plan"].rows
    assert rows[0].errors == [] and rows[1].errors == [
        "ip: IP address 10.0.0.1 is also given to node01"
    ]
    assert response.context["payload"] == ""
    assert not Node.objects.exists()


def test_csv_import_refuses_a_tampered_payload(admin_web: Client) -> None:
    response = admin_web.post("/nodes/import/", {"payload": "not-a-token"}, follow=True)
    assert "expired or was altered" in response.content.decode()
