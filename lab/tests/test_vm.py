"""qemu lab nodes: a real VM netboots through iPXE, under restrict=on, to our HTTP server.

No portal is needed here: a throwaway HTTP server on 127.0.0.1 plays the boot service, and the
test itself plays the BMC's SOL client on the serial TCP port.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from lab import vm

VM_PY = Path(vm.__file__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Script(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        _Script.requests.append(self.path)
        body = b"#!ipxe\necho HELLO-FROM-THE-BOOT-SERVICE mac=${net0/mac}\nsleep 30\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def boot_service():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def read_until(sock: socket.socket, marker: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(1)
    while marker not in seen and time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            break
        seen += chunk
    return seen


def test_tcg_is_chosen_when_kvm_is_the_pvm_variant_or_absent(tmp_path: Path) -> None:
    answer = vm.probe_accel(tmp_path / "accel")
    if Path("/sys/module/kvm_pvm").exists() or not Path("/dev/kvm").exists():
        assert answer == "tcg"
    assert (tmp_path / "accel").read_text().strip() == answer


def test_qemu_command_is_isolated_with_restrict_on(tmp_path: Path) -> None:
    config = vm.VmConfig("lab01", "52:54:00:00:00:01", 17001, "127.0.0.1:8000", str(tmp_path))
    cmd = " ".join(vm.qemu_command(tmp_path, config))
    assert "restrict=on" in cmd and "guestfwd=tcp:10.0.2.100:80-cmd:" in cmd
    assert "nc 127.0.0.1 8000" in cmd and "wait=on" in cmd and "-nographic" in cmd


def test_power_on_netboots_through_ipxe_and_power_off_stops_the_vm(
    tmp_path: Path, boot_service
) -> None:
    node = tmp_path / "lab01"
    tftp = tmp_path / "tftp"
    tftp.mkdir()
    (tftp / "chain.ipxe").write_text("#!ipxe\nchain http://10.0.2.100/boot/ipxe?mac=${net0/mac}\n")
    serial = free_port()
    port = boot_service.server_address[1]
    vm.configure(
        node,
        vm.VmConfig(
            "lab01", "52:54:00:12:34:56", serial, f"127.0.0.1:{port}", str(tftp), memory_mb=256
        ),
    )
    (node / "boot").write_text("pxe\n")
    vm.set_power_file(node, True)
    # Own session, as under ipmi_sim: the cleanup below can kill the hook and its qemu together.
    hook = subprocess.Popen([sys.executable, str(VM_PY), str(node), "on"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:  # the serial server appears once qemu runs (wait=on: guest waits for us)
            try:
                sol = socket.create_connection(("127.0.0.1", serial), timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, (node / "qemu.log").read_text()
                time.sleep(0.2)
        with sol:
            out = read_until(sol, b"mac=52:54:00:12:34:56\r", 60)
        assert b"iPXE" in out, out[-2000:]
        assert b"HELLO-FROM-THE-BOOT-SERVICE mac=52:54:00:12:34:56" in out
        # iPXE percent-encodes the colons; the boot service decodes the query as usual.
        assert [unquote(r) for r in _Script.requests] == ["/boot/ipxe?mac=52:54:00:12:34:56"]
        assert vm.running_pid(node)
        subprocess.run([sys.executable, str(VM_PY), str(node), "off"], check=True, timeout=10)
        assert hook.wait(timeout=10) == 0
        assert (node / "power").read_text().strip() == "0"
        assert vm.running_pid(node) is None
    finally:
        if hook.poll() is None:
            os.killpg(hook.pid, signal.SIGKILL)
            hook.wait()
