"""Boot storm: N nodes with distinct MACs ask ``/boot/ipxe`` at once, then fetch their kernel.

The portal runs as in production (gunicorn, DEBUG off) against a scratch database
(``test_<name>``, migrated, dropped at the end) with N nodes set to netboot an image whose
kernel is a real-sized file. An asyncio client opens N connections at once; each asks for
its script (every answer issues a fresh boot token and writes a timeline event), then
downloads the kernel with that token, as iPXE would. Reported: requests per second and
p50/p99 latency for both phases.

Baseline: the same client fetching a constant script from Python's threading
``http.server`` on this machine (what serving a static file costs here, no database).
Usage: benchmarks/bootstorm.py [--nodes 1000] [--kernel-mib 8] [--workers 4].
Last line: one JSON object (value = script requests/s, baseline = static server's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


async def http_get(port: int, path: str) -> tuple[int, bytes, float]:
    """One HTTP/1.0 GET; (status, body, seconds)."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
    except OSError:  # counted as an error by the caller (status 0)
        return 0, b"", time.monotonic() - start
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body, time.monotonic() - start


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


async def storm(port: int, macs: list[str]) -> dict:
    t0 = time.monotonic()
    scripts = await asyncio.gather(*(http_get(port, f"/boot/ipxe?mac={m}") for m in macs))
    t1 = time.monotonic()
    bad = [s for s, _, _ in scripts if s != 200]
    kernel_paths = []
    for status, body, _ in scripts:
        if status == 200:
            line = next(x for x in body.decode().splitlines() if x.startswith("kernel "))
            url = urllib.parse.urlsplit(line.split()[1])  # whatever host BOOT_URL names
            kernel_paths.append(f"{url.path}?{url.query}")
    t2 = time.monotonic()
    kernels = await asyncio.gather(*(http_get(port, p) for p in kernel_paths))
    t3 = time.monotonic()
    bad += [s for s, _, _ in kernels if s != 200]
    script_lat = [d * 1000 for _, _, d in scripts]
    kernel_lat = [d * 1000 for _, _, d in kernels]
    total_bytes = sum(len(b) for _, b, _ in kernels)
    return {
        "errors": len(bad),
        "script_rps": len(macs) / (t1 - t0),
        "script_p50_ms": pct(script_lat, 50),
        "script_p99_ms": pct(script_lat, 99),
        "kernel_rps": len(kernel_paths) / (t3 - t2),
        "kernel_MBps": total_bytes / (t3 - t2) / 1e6,
        "kernel_p50_ms": pct(kernel_lat, 50),
        "kernel_p99_ms": pct(kernel_lat, 99),
    }


class _Static(BaseHTTPRequestHandler):
    body = b"#!ipxe\nkernel http://10.0.2.100/boot/images/x/v/kernel?node=n&t=t quiet\nboot\n"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


class _StaticServer(ThreadingHTTPServer):
    request_queue_size = 2048  # listen() backlog, as gunicorn's --backlog below


async def static_baseline(port: int, n: int) -> dict:
    t0 = time.monotonic()
    res = await asyncio.gather(*(http_get(port, f"/s?mac={i}") for i in range(n)))
    t1 = time.monotonic()
    lat = [d * 1000 for _, _, d in res]
    return {"rps": n / (t1 - t0), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}


def populate(n: int, images_dir: Path, kernel_mib: int) -> list[str]:
    from _common import published_image
    from django.conf import settings

    from nodes import netboot
    from nodes.models import Node, sort_key
    from snportal import audit

    settings.IMAGES_DIR = images_dir
    published_image(
        "storm-image",
        {
            "kernel": os.urandom(kernel_mib << 20),
            "initrd": os.urandom(3 << 20),
            "rootimg.cpio.zst": os.urandom(1 << 20),
        },
        version="0123456789abcdef",
    )
    macs = [
        f"52:54:02:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}" for i in range(1, n + 1)
    ]
    names = [f"st{i:05d}" for i in range(1, n + 1)]
    Node.objects.bulk_create(
        [Node(name=nm, sortkey=sort_key(nm), mac=m) for nm, m in zip(names, macs, strict=True)]
    )
    netboot.nodeset(names, "osimage=storm-image", actor=audit.Actor(None, "bench"))
    return macs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--kernel-mib", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    import django

    django.setup()
    from _common import free_port, scratch_database, serving

    from testsupport.processes import database_url_for_subprocess

    server = _StaticServer(("127.0.0.1", 0), _Static)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    baseline = asyncio.run(static_baseline(server.server_address[1], args.nodes))
    server.shutdown()

    with scratch_database():
        with tempfile.TemporaryDirectory() as tmp:
            macs = populate(args.nodes, Path(tmp) / "images", args.kernel_mib)
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": database_url_for_subprocess(),
                "SNPORTAL_IMAGES_DIR": str(Path(tmp) / "images"),
                "DEBUG": "0",
                # Production settings refuse weak keys: fresh random ones for this run.
                "SECRET_KEY": secrets.token_urlsafe(48),
                "SNPORTAL_SECRETS_KEY": secrets.token_urlsafe(32),
                "ALLOWED_HOSTS": "127.0.0.1",
                "LOG_LEVEL": "WARNING",
                # Every simulated node asks from 127.0.0.1: lift the per-address limit.
                "SNPORTAL_BOOT_RATE_PER_ADDRESS": str(args.nodes * 4),
            }
            command = [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
            ]
            with serving(command, env, port, "gunicorn", ROOT):
                result = asyncio.run(storm(port, macs))

    print(f"nodes: {args.nodes}, kernel {args.kernel_mib} MiB, gunicorn {args.workers}x4 threads")
    print(
        f"/boot/ipxe: {result['script_rps']:.0f} req/s, p50 {result['script_p50_ms']:.0f} ms, "
        f"p99 {result['script_p99_ms']:.0f} ms"
    )
    print(
        f"kernel:     {result['kernel_rps']:.0f} req/s ({result['kernel_MBps']:.0f} MB/s), "
        f"p50 {result['kernel_p50_ms']:.0f} ms, p99 {result['kernel_p99_ms']:.0f} ms"
    )
    print(
        f"baseline (static script from http.server): {baseline['rps']:.0f} req/s, "
        f"p99 {baseline['p99_ms']:.0f} ms; errors: {result['errors']}"
    )
    print(
        json.dumps(
            {
                "benchmark": "bootstorm",
                "value": round(result["script_rps"], 1),
                "unit": "req/s",
                "baseline": round(baseline["rps"], 1),
                "ratio": round(result["script_rps"] / baseline["rps"], 2),
                "p50_ms": round(result["script_p50_ms"], 1),
                "p99_ms": round(result["script_p99_ms"], 1),
                "kernel_rps": round(result["kernel_rps"], 1),
                "kernel_MBps": round(result["kernel_MBps"], 1),
                "kernel_p99_ms": round(result["kernel_p99_ms"], 1),
                "errors": result["errors"],
                "nodes": args.nodes,
            }
        )
    )


if __name__ == "__main__":
    main()
