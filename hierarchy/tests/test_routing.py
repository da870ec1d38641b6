"""Routing: which cluster runs a node's work, failover to backups, derived xcatmaster."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hierarchy import routing
from hierarchy.tests.factories import make_sn
from nodes import services
from nodes.tests.factories import make_node
from snportal import audit


@pytest.mark.django_db
def test_plan_picks_the_primary_service_node() -> None:
    make_sn("sn01")
    make_sn("sn02", address="192.168.79.1/24")
    make_node("c1", servicenode="sn01,sn02")
    make_node("c2", servicenode="sn02,sn01")
    make_node("m1")
    parts, failed = routing.plan(["c1", "c2", "m1"])
    assert parts == {"sn01": ["c1"], "sn02": ["c2"], None: ["m1"]}
    assert failed == {}


@pytest.mark.django_db
def test_a_backup_takes_the_work_when_the_primary_is_stale() -> None:
    make_sn("sn01", age=120)
    make_sn("sn02", address="192.168.79.1/24")
    make_node("c1", servicenode="sn01,sn02")
    parts, failed = routing.plan(["c1"])
    assert parts == {"sn02": ["c1"]} and failed == {}


@pytest.mark.django_db
def test_nodes_whose_service_nodes_are_all_stale_fail_with_the_reason() -> None:
    make_sn("sn01", age=120)
    make_sn("sn02", age=None, address="192.168.79.1/24")
    make_node("c1", servicenode="sn01")
    make_node("c2", servicenode="sn01,sn02")
    parts, failed = routing.plan(["c1", "c2"])
    assert parts == {}
    assert failed["c1"].startswith("service node sn01 has no heartbeat since ")
    assert failed["c1"].endswith("no backup is alive")
    assert "sn02 has never sent a heartbeat" in failed["c2"]


@pytest.mark.django_db
def test_plan_costs_the_same_queries_for_ten_and_a_thousand_nodes() -> None:
    make_sn("sn01")
    make_sn("sn02", age=300, address="192.168.79.1/24")
    rows = [(f"c{i:04d}", {"servicenode": "sn02,sn01" if i % 2 else ""}) for i in range(1000)]
    services.save_nodes(rows, mode=services.CREATE, actor=audit.cli_actor())
    names = [n for n, _ in rows]
    with CaptureQueriesContext(connection) as ten:
        parts, _ = routing.plan(names[:10])
    with CaptureQueriesContext(connection) as thousand:
        parts, failed = routing.plan(names)
    assert len(ten) == len(thousand) == 2
    assert len(parts["sn01"]) == 500 and len(parts[None]) == 500 and not failed


@pytest.mark.django_db
def test_xcatmaster_is_the_primary_service_nodes_address() -> None:
    make_sn("sn01", address="192.168.78.1/24")
    node = make_node("c1", servicenode="sn01")
    assert routing.xcatmaster(node) == "192.168.78.1"


@pytest.mark.django_db
def test_xcatmaster_without_service_node_is_the_portal(settings) -> None:
    settings.BOOT_URL = "http://10.0.2.100:8080"
    assert routing.xcatmaster(make_node("m1")) == "10.0.2.100"


@pytest.mark.django_db
def test_an_explicit_xcatmaster_wins_over_the_derived_one() -> None:
    make_sn("sn01")
    node = make_node("c1", servicenode="sn01", xcatmaster="10.9.9.9")
    assert routing.xcatmaster(node) == "10.9.9.9"
