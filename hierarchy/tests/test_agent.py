"""The service-node agent: scoped converge, dnsmasq config, start order, enrol client.

The dnsmasq start test runs real dnsmasq inside a network namespace this test creates (a
veth interface with the service node's compute MAC stands in for its NIC); nothing is
addressed from the host namespace, and the namespace is deleted in a finalizer.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

import snportal
import testsupport.bulk
from hierarchy import agent, bootstrap, dhcp
from hierarchy.models import ServiceNode
from hierarchy.tests import test_enrol
from hierarchy.tests.test_enrol import armed, render_secret
from nodes.models import Node
from nodes.tests.factories import make_node
from testsupport.waiting import wait_until

SN_ADDRESS = "192.168.78.1/24"
COMPUTE_MAC = "52:54:00:78:10:01"
packed = test_enrol.packed  # fixtures shared with the enrolment tests
sn_name = test_enrol.sn_name


def bulk_nodes(count: int, *, start: int = 0, servicenode: str = "") -> None:
    """``count`` nodes straight into the table (the converge under test only reads)."""
    testsupport.bulk.bulk_nodes(count, start=start, servicenode=servicenode, with_ip=True)


@pytest.mark.django_db
def test_converge_reads_only_its_own_nodes_in_one_query_whatever_the_total(
    django_assert_num_queries,
) -> None:
    bulk_nodes(10, servicenode="sn01")
    bulk_nodes(10, start=10, servicenode="sn02,sn01")  # sn01 is their backup
    bulk_nodes(80, start=20, servicenode="sn02")
    bulk_nodes(1, start=99_999, servicenode="sn011")  # a name sn01 is a prefix of: not a match
    with django_assert_num_queries(1):
        small = agent.own_hosts("sn01")
    bulk_nodes(9_900, start=100, servicenode="sn02")
    assert Node.objects.count() == 10_001
    with django_assert_num_queries(1):
        large = agent.own_hosts("sn01")
    assert small == large and len(large) == 20
    assert {h.name for h in large} == {f"n{i:05d}" for i in range(20)}


def sn01_dhcp_config(workdir: Path, **options: str) -> str:
    """sn01's dnsmasq configuration on eth1 at SN_ADDRESS; ``options`` as for dhcp.config."""
    return dhcp.config(
        servicenode="sn01", interface="eth1", address=SN_ADDRESS, workdir=workdir, **options
    )


def test_generated_dnsmasq_config_passes_dnsmasq_test(tmp_path: Path) -> None:
    hosts = [
        dhcp.Host("c01", "52:54:00:78:00:20", "192.168.78.20"),
        dhcp.Host("c_2", "52:54:00:78:00:21", None),
    ]
    dhcp.write_hosts(tmp_path / "hosts", hosts)
    text = sn01_dhcp_config(
        tmp_path,
        boot_url="http://192.168.78.1",
        dhcp_range="192.168.78.100,192.168.78.150",
        ula=dhcp.ula_for(SN_ADDRESS),
    )
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(text)
    test = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True
    )
    assert test.returncode == 0, test.stderr
    assert "dhcp-boot=tag:ipxe,http://192.168.78.1/boot/ipxe?mac=${net0/mac}" in text
    assert "dhcp-option=tag:ipxe,encap:175,176,1b" in text
    assert "ra-only" in text
    assert (
        tmp_path / "hosts" / "52-54-00-78-00-20"
    ).read_text() == "52:54:00:78:00:20,192.168.78.20,c01\n"
    assert (tmp_path / "hosts" / "52-54-00-78-00-21").read_text() == "52:54:00:78:00:21,c-2\n"


def test_without_a_range_only_reserved_macs_are_answered(tmp_path: Path) -> None:
    text = sn01_dhcp_config(tmp_path, boot_url="http://x")
    assert "dhcp-range=192.168.78.0,static,255.255.255.0,1h" in text


def test_a_node_that_left_is_rewritten_as_ignore_and_needs_a_sighup(tmp_path: Path) -> None:
    hostsdir = tmp_path / "hosts"
    c01 = dhcp.Host("c01", "52:54:00:78:00:20", "192.168.78.20")
    c02 = dhcp.Host("c02", "52:54:00:78:00:21", "192.168.78.21")
    assert dhcp.write_hosts(hostsdir, [c01, c02]) is False  # new files: dnsmasq reads them itself
    assert dhcp.write_hosts(hostsdir, [c01, c02]) is False  # nothing changed
    assert dhcp.write_hosts(hostsdir, [c01]) is True
    assert (hostsdir / "52-54-00-78-00-21").read_text() == "52:54:00:78:00:21,ignore\n"


@pytest.mark.django_db
def test_the_agent_refuses_a_version_skew_and_records_why(sn_name, monkeypatch, tmp_path) -> None:
    make_node(sn_name, groups="service", mac="52:54:00:78:00:01")
    ServiceNode.objects.create(node=Node.objects.get(name=sn_name), address=SN_ADDRESS)
    monkeypatch.setenv("SNPORTAL_PORTAL_VERSION", "0.0.9")  # a portal that was upgraded
    the_agent = agent.Agent(sn_name, tmp_path, SN_ADDRESS, COMPUTE_MAC, "http://192.168.78.1")
    with pytest.raises(agent.AgentError, match=f"runs snportal {snportal.__version__}.*0.0.9"):
        the_agent.check_version()
    assert "version skew" in ServiceNode.objects.get(node__name=sn_name).state


@pytest.mark.django_db
def test_the_heartbeat_records_time_version_and_state(sn_name, tmp_path) -> None:
    make_node(sn_name, groups="service", mac="52:54:00:78:00:01")
    ServiceNode.objects.create(node=Node.objects.get(name=sn_name), address=SN_ADDRESS)
    the_agent = agent.Agent(sn_name, tmp_path, SN_ADDRESS, COMPUTE_MAC, "http://192.168.78.1")
    the_agent.converge()
    the_agent.heartbeat()
    sn = ServiceNode.objects.get(node__name=sn_name)
    assert sn.heartbeat and sn.version == snportal.__version__ and sn.state == "serving 0 node(s)"


def test_the_kernel_command_line_gives_node_secret_and_portal() -> None:
    args = bootstrap.parse_cmdline(
        "quiet snp.node=sn01 snp.status=http://10.0.2.100:8000/boot/status snp.enrol=abc BOOTIF=x"
    )
    assert args == {
        "snp.node": "sn01",
        "snp.status": "http://10.0.2.100:8000/boot/status",
        "snp.enrol": "abc",
    }
    assert bootstrap.portal_base(args["snp.status"]) == "http://10.0.2.100:8000"


@pytest.mark.django_db(transaction=True)
def test_the_agent_enrols_and_keeps_the_env_private(
    packed, sn_name, live_server, settings, tmp_path
) -> None:
    settings.SN_DATABASE_HOST = "127.0.0.1"
    armed(sn_name, packed)
    secret = render_secret(Client())
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(
        f"quiet snp.node={sn_name} snp.enrol={secret} snp.status={live_server.url}/boot/status\n"
    )
    env_path = tmp_path / "run" / "env"
    env = bootstrap.enrol(cmdline, env_path, snportal.__version__)
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    assert bootstrap.read_env(env_path) == env
    assert env["SNPORTAL_SERVICE_NODE"] == sn_name
    with pytest.raises(bootstrap.EnrolRefused) as refused:  # the same secret again
        bootstrap.enrol(cmdline, tmp_path / "other", snportal.__version__)
    assert refused.value.status == 403 and "not armed" in refused.value.message


@pytest.mark.django_db(transaction=True)
def test_a_version_skewed_agent_is_refused_with_both_versions(
    packed, sn_name, live_server, tmp_path
) -> None:
    armed(sn_name, packed)
    secret = render_secret(Client())
    with pytest.raises(bootstrap.EnrolRefused) as refused:
        bootstrap.request_env(live_server.url, sn_name, secret, "0.0.9")
    assert refused.value.status == 409
    assert "0.0.9" in refused.value.message and snportal.__version__ in refused.value.message


def test_runservice_exits_with_the_reason_when_enrolment_is_refused(tmp_path: Path) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("quiet panic=-1\n")  # booted without an armed enrolment
    with pytest.raises(SystemExit) as exited:
        bootstrap.prepare(["--cmdline", str(cmdline), "--env", str(tmp_path / "env")])
    assert exited.value.code == 2
    assert not (tmp_path / "env").exists()


# --- real dnsmasq in a namespace --------------------------------------------------------------

CLONE_NEWNET = 0x40000000


@pytest.fixture
def netns() -> Any:
    """A fresh network namespace with a NIC carrying the service node's compute MAC."""
    name = f"snp-h6-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        run = ["ip", "netns", "exec", name]
        subprocess.run([*run, "ip", "link", "set", "lo", "up"], check=True)
        # A veth pair inside the namespace: snc0 is the compute NIC, its peer the "wire".
        subprocess.run(
            [*run, "ip", "link", "add", "snc0", "type", "veth", "peer", "name", "snc0p"],
            check=True,
        )
        subprocess.run([*run, "ip", "link", "set", "snc0p", "up"], check=True)
        subprocess.run([*run, "ip", "link", "set", "snc0", "address", COMPUTE_MAC], check=True)
        yield name
    finally:
        for pid in subprocess.run(
            ["ip", "netns", "pids", name], capture_output=True, text=True
        ).stdout.split():
            os.kill(int(pid), 15)
        subprocess.run(["ip", "netns", "del", name], check=False)


def ns_pids(name: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def in_netns(name: str, work: Any) -> Any:
    """Run ``work()`` in a thread that joined the namespace (its subprocesses are inside too)."""
    result: dict[str, Any] = {}

    def target() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        with open(f"/run/netns/{name}") as ns:
            if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                result["error"] = OSError(ctypes.get_errno(), "setns")
                return
        try:
            result["value"] = work()
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in result:
        raise result["error"]
    return result.get("value")


def udp_ports(pid: int) -> set[int]:
    """Local UDP ports bound in the namespace of ``pid`` (its /proc view)."""
    lines = Path(f"/proc/{pid}/net/udp").read_text().splitlines()[1:]
    return {int(line.split()[1].split(":")[1], 16) for line in lines}


@pytest.fixture
def open_workdir() -> Any:
    """A directory dnsmasq can read after dropping to nobody (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="snp-h6-dnsmasq-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path / "dnsmasq"
    shutil.rmtree(path, ignore_errors=True)


def test_the_agent_refuses_a_workdir_dnsmasq_could_not_read(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o700)
    the_agent = agent.Agent("sn01", tmp_path / "w", SN_ADDRESS, COMPUTE_MAC, "http://x")
    with pytest.raises(agent.AgentError, match="not world-searchable"):
        the_agent.write_config()


def test_dnsmasq_starts_only_after_its_config_exists_and_then_serves_dhcp(
    netns, open_workdir
) -> None:
    workdir = open_workdir
    the_agent = agent.Agent("sn01", workdir, SN_ADDRESS, COMPUTE_MAC, "http://192.168.78.1")
    the_agent.hosts = [dhcp.Host("c01", "52:54:00:78:00:20", "192.168.78.20")]
    with pytest.raises(agent.AgentError, match="before its configuration exists"):
        the_agent.start_dhcp()
    assert (
        subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout == ""
    )

    def bring_up() -> agent.Child:
        the_agent.write_config()
        written = the_agent.conf.stat().st_mtime
        the_agent.configure_network()
        child = the_agent.start_dhcp()
        assert time.time() >= written
        return child

    child = in_netns(netns, bring_up)
    try:
        assert the_agent.interface == "snc0"

        def listening() -> bool:
            assert child.running(), "dnsmasq exited"
            return 67 in udp_ports(child.process.pid)

        wait_until(listening, 10, message="dnsmasq does not listen on UDP 67")
        addrs = subprocess.run(
            ["ip", "netns", "exec", netns, "ip", "-o", "addr", "show", "dev", "snc0"],
            capture_output=True,
            text=True,
        ).stdout
        assert "192.168.78.1/24" in addrs and "fd53:6e70:0:c0a8::1/64" in addrs
        assert (workdir / "hosts" / "52-54-00-78-00-20").exists()
    finally:
        child.stop()
