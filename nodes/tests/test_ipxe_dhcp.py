"""The boot protocol's scripts and makedhcp's dnsmasq configuration (pure functions)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nodes import dhcp, ipxe


@pytest.mark.parametrize(
    "raw", ["52:54:00:AB:cd:01", "52-54-00-ab-cd-01", "525400abcd01", " 52:54:00:ab:cd:01 "]
)
def test_macs_are_normalised_from_every_form_ipxe_and_people_use(raw: str) -> None:
    assert ipxe.normalize_mac(raw) == "52:54:00:ab:cd:01"


@pytest.mark.parametrize("raw", ["", "52:54:00:ab:cd", "52:54-00:ab:cd:01", "zz:54:00:ab:cd:01"])
def test_malformed_macs_are_rejected(raw: str) -> None:
    assert ipxe.normalize_mac(raw) is None


def test_cmdline_follows_the_protocol_order_with_serial_console_last() -> None:
    line = ipxe.kernel_cmdline(
        node="n01",
        status_url="http://10.0.2.100/boot/status",
        token="tok",
        root_url="http://10.0.2.100/boot/images/i/v/rootimg.cpio.zst",
        sha256="ab" * 32,
        rootfmt="cpio.zst",
        mac="52:54:00:00:00:01",
        serialport=0,
        serialspeed=115200,
        addkcmdline="net.ifnames=0",
    )
    assert line.startswith("console=tty0 console=ttyS0,115200n8 ")
    assert " snp.node=n01 " in line and " snp.token=tok " in line
    assert "BOOTIF=01-52-54-00-00-00-01" in line
    assert line.endswith("net.ifnames=0")


def test_offline_and_unknown_scripts_never_fall_through_to_booting() -> None:
    assert "goto halt" in ipxe.offline_script("n01")
    assert "kernel" not in ipxe.unknown_script("52:54:00:00:00:09")


def test_chain_script_sends_ipxe_to_the_portal_with_its_mac() -> None:
    script = ipxe.chain_script("http://10.0.2.100/")
    assert "chain http://10.0.2.100/boot/ipxe?mac=${net0/mac}" in script


def test_dnsmasq_config_pins_hosts_and_chains_ipxe(tmp_path: Path) -> None:
    text = dhcp.dnsmasq_config(
        [
            dhcp.HostEntry("n02", "52:54:00:00:00:02", None),
            dhcp.HostEntry("n01", "52:54:00:00:00:01", "192.0.2.11"),
        ],
        tftp_dir=tmp_path,
        dhcp_range="192.0.2.10,192.0.2.200,12h",
    )
    assert "dhcp-host=52:54:00:00:00:01,192.0.2.11,n01" in text
    assert text.index("n01") < text.index("n02")
    assert "dhcp-boot=tag:ipxe,chain.ipxe" in text


def test_dnsmasq_accepts_the_generated_config(tmp_path: Path) -> None:
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(
        dhcp.dnsmasq_config(
            [dhcp.HostEntry("n01", "52:54:00:00:00:01", "192.0.2.11")],
            tftp_dir=tmp_path,
            interface="snp0",
            dhcp_range="192.0.2.10,192.0.2.200,12h",
        )
    )
    result = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax check OK" in result.stderr


def test_tftp_dir_holds_the_chain_script_and_ipxe_binaries(tmp_path: Path) -> None:
    missing = dhcp.write_tftp_dir(tmp_path, "http://192.0.2.1:8000")
    assert (tmp_path / "chain.ipxe").read_text().startswith("#!ipxe")
    for name in dhcp.IPXE_BINARIES:
        assert (tmp_path / name).exists() or any(name in m for m in missing)
