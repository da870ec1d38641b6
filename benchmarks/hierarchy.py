"""Hierarchy: 1,000 nodes boot through 2 service-node caches vs straight from the portal.

Real servers on 127.0.0.1, as subprocesses against a scratch database: the management
node's web (gunicorn, DEBUG off) and two service nodes' web (``manage.py runsnweb``, i.e.
gunicorn with ``SNPORTAL_ROLE=service``), each with its own empty artifact cache. One image
version is made through the images services with real files (by default an 8 MiB kernel,
a 1 MiB initrd and a 32 MiB root image, random bytes so nothing compresses).

Each simulated node does what iPXE and the initrd do: ``GET /boot/ipxe?mac=…``, then the
kernel, the initrd and the root image URLs the script names (with its boot token), one
after the other; ``--concurrency`` nodes at a time. Half the nodes name sn01, half sn02.

* hierarchy: every node asks its service node (cold caches: the first misses fill them,
  single-flight, from the portal's ``/boot/cache/…``);
* direct (the baseline): every node asks the management node.

Reported: bytes the management node served in each case (from its gunicorn access log;
target: one copy of the version per service node), p50/p99 of a node's whole boot fetch.
Usage: benchmarks/hierarchy.py [--nodes 1000] [--kernel-mib 8] [--root-mib 32]
[--concurrency 50]. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

IMAGE = "hier-image"
SNS = ("sn01", "sn02")
NODE_TIMEOUT = 300.0  # one node's whole boot fetch; a stuck server is an error, not a hang
# One client address (127.0.0.1) stands for 1,000 nodes, and each node boots twice (one
# boot attempt per case): lift the boot service's per-address and per-node request limits.
LIMITS = {
    "SNPORTAL_BOOT_RATE_PER_ADDRESS": "10000000",
    "SNPORTAL_BOOT_RATE_PER_NODE": "1000",
}


async def http_get(port: int, path: str, keep: bool = False) -> tuple[int, int, bytes]:
    """One HTTP/1.0 GET to 127.0.0.1; (status, body bytes, body if ``keep``). Streams."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        body, size = [], 0
        while data := await reader.read(1 << 20):
            size += len(data)
            if keep:
                body.append(data)
        return status, size, b"".join(body)
    finally:
        writer.close()


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def boot(port: int, mac: str) -> tuple[float, int, str]:
    """One node's boot fetches; (seconds, bytes, error or "")."""
    start = time.monotonic()
    status, _, body = await http_get(port, f"/boot/ipxe?mac={mac}", keep=True)
    if status != 200:
        return time.monotonic() - start, 0, f"script: HTTP {status}"
    script = body.decode()
    urls = []
    for line in script.splitlines():
        if line.startswith(("kernel ", "initrd ")):
            urls.append(line.split()[1])
        if line.startswith("kernel "):
            urls += [w.split("=", 1)[1] for w in line.split() if w.startswith("snp.root=")]
    if len(urls) != 3:
        return time.monotonic() - start, 0, f"unexpected script: {script[:200]!r}"
    total = 0
    for url in urls:
        status, size, _ = await http_get(port, _path(url))
        if status != 200:
            return time.monotonic() - start, total, f"{_path(url)}: HTTP {status}"
        total += size
    return time.monotonic() - start, total, ""


async def storm(targets: list[tuple[int, str]], concurrency: int) -> dict:
    gate = asyncio.Semaphore(concurrency)

    async def one(port: int, mac: str) -> tuple[float, int, str]:
        async with gate:
            try:
                return await asyncio.wait_for(boot(port, mac), NODE_TIMEOUT)
            except TimeoutError:
                return 0.0, 0, f"no complete boot fetch within {NODE_TIMEOUT:.0f} s"
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                return 0.0, 0, f"{type(exc).__name__}: {exc}"

    t0 = time.monotonic()
    results = await asyncio.gather(*(one(p, m) for p, m in targets))
    wall = time.monotonic() - t0
    times = [t * 1000 for t, _, err in results if not err]
    errors = [err for _, _, err in results if err]
    return {
        "wall_s": wall,
        "bytes": sum(b for _, b, _ in results),
        "p50_ms": pct(times, 50),
        "p99_ms": pct(times, 99),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def populate(n: int, images_dir: Path, sizes: dict[str, int]) -> tuple[list[str], dict[str, str]]:
    """The image version (real sha256s), 2 service nodes with API tokens, n nodes set to boot."""
    from _common import published_image
    from django.conf import settings

    from hierarchy.models import ServiceNode
    from hierarchy.snweb import hash_token
    from nodes import netboot
    from nodes import services as node_services
    from nodes.models import Node, sort_key
    from snportal import audit

    actor = audit.Actor(None, "bench")
    settings.IMAGES_DIR = images_dir
    published_image(IMAGE, {name: os.urandom(size) for name, size in sizes.items()})
    tokens = {}
    node_services.save_nodes(
        [(sn, {"groups": "service"}) for sn in SNS], mode=node_services.CREATE, actor=actor
    )
    for sn in SNS:
        tokens[sn] = secrets.token_urlsafe(32)
        ServiceNode.objects.create(
            node=Node.objects.get(name=sn),
            address=f"192.168.78.{SNS.index(sn) + 1}/24",
            api_token_hash=hash_token(tokens[sn]),
        )
    macs = [
        f"52:54:03:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}" for i in range(1, n + 1)
    ]
    names = [f"hc{i:05d}" for i in range(1, n + 1)]
    Node.objects.bulk_create(
        [
            Node(name=nm, sortkey=sort_key(nm), mac=m, servicenode=SNS[i * len(SNS) // n])
            for i, (nm, m) in enumerate(zip(names, macs, strict=True))
        ]
    )
    netboot.nodeset(names, f"osimage={IMAGE}", actor=actor)
    return macs, tokens


def reopen_boot_attempts() -> None:
    """nodeset again: the first case's reports ended each node's boot attempt."""
    from nodes import netboot
    from nodes.models import Node
    from snportal import audit

    names = list(Node.objects.filter(name__startswith="hc").values_list("name", flat=True))
    netboot.nodeset(names, f"osimage={IMAGE}", actor=audit.Actor(None, "bench"))


def start(argv: list[str], env: dict[str, str], port: int, name: str) -> subprocess.Popen:
    from _common import wait_for_port

    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    wait_for_port(port, proc, name)
    return proc


def mn_bytes(access_log: Path, since: int) -> tuple[int, int]:
    """(bytes, requests) the management node served after offset ``since`` of its log."""
    total = requests = 0
    with access_log.open() as f:
        f.seek(since)
        for line in f:
            size = line.split()[-1]
            requests += 1
            total += int(size) if size.isdigit() else 0
    return total, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--kernel-mib", type=int, default=8)
    parser.add_argument("--initrd-mib", type=int, default=1)
    parser.add_argument("--root-mib", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    sizes = {
        "kernel": args.kernel_mib << 20,
        "initrd": args.initrd_mib << 20,
        "rootimg.cpio.zst": args.root_mib << 20,
    }

    import django

    django.setup()
    from _common import free_port, scratch_database

    from testsupport.processes import database_url_for_subprocess

    procs: list[subprocess.Popen] = []
    with scratch_database(), tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        macs, tokens = populate(args.nodes, tmp / "images", sizes)
        base_env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "SNPORTAL_IMAGES_DIR": str(tmp / "images"),
            "SNPORTAL_VAR_DIR": str(tmp / "var"),
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SNPORTAL_SECRETS_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            **LIMITS,
        }
        mn_port = free_port()
        access_log = tmp / "mn-access.log"
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        manage = [sys.executable, str(ROOT / "manage.py")]
        try:
            procs.append(
                start(
                    [
                        gunicorn, "config.wsgi", "--bind", f"127.0.0.1:{mn_port}",
                        "--workers", "2", "--worker-class", "gthread", "--threads", "8",
                        "--backlog", "2048", "--log-level", "warning",
                        "--access-logfile", str(access_log),
                        "--access-logformat", "%(U)s %({content-length}o)s",
                    ],
                    base_env, mn_port, "management node web",
                )
            )  # fmt: skip
            sn_ports = {}
            for sn in SNS:
                port = sn_ports[sn] = free_port()
                env = {
                    **base_env,
                    "SNPORTAL_ROLE": "service",
                    "SNPORTAL_SERVICE_NODE": sn,
                    "SNPORTAL_MN_URL": f"http://127.0.0.1:{mn_port}",
                    "SNPORTAL_SN_API_TOKEN": tokens[sn],
                    "SNPORTAL_CACHE_DIR": str(tmp / f"cache-{sn}"),
                    "SNPORTAL_BOOT_URL": f"http://127.0.0.1:{port}",
                }
                argv = [*manage, "runsnweb", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
                argv += ["--threads", "8"]  # 16 database connections per server at most
                procs.append(start(argv, env, port, f"{sn} web"))

            per_sn = [sn_ports[SNS[i * len(SNS) // args.nodes]] for i in range(args.nodes)]
            mark = access_log.stat().st_size if access_log.exists() else 0
            hier = asyncio.run(storm(list(zip(per_sn, macs, strict=True)), args.concurrency))
            time.sleep(1.5)  # gunicorn writes the access log after the response
            hier_mn, hier_reqs = mn_bytes(access_log, mark)

            reopen_boot_attempts()
            mark = access_log.stat().st_size
            direct = asyncio.run(storm([(mn_port, m) for m in macs], args.concurrency))
            time.sleep(1.5)
            direct_mn, direct_reqs = mn_bytes(access_log, mark)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:  # a request still streaming: no grace
                    proc.kill()
                    proc.wait()

    version_bytes = sum(sizes.values())
    mib = 1 << 20
    print(
        f"nodes: {args.nodes} ({args.nodes // len(SNS)} per service node), version "
        f"{version_bytes / mib:.0f} MiB (kernel {args.kernel_mib}, initrd {args.initrd_mib}, "
        f"root {args.root_mib}), {args.concurrency} nodes at a time"
    )
    for label, r, served, reqs in (
        ("through 2 service nodes", hier, hier_mn, hier_reqs),
        ("straight from the portal", direct, direct_mn, direct_reqs),
    ):
        print(
            f"{label:>25}: portal served {served / mib:,.0f} MiB in {reqs} requests "
            f"({served / version_bytes:.2f} copies); nodes got {r['bytes'] / mib:,.0f} MiB in "
            f"{r['wall_s']:.1f} s; per node p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms; "
            f"errors {r['errors']} {r['first_error']}"
        )
    print(
        json.dumps(
            {
                "benchmark": "hierarchy",
                "value": hier_mn,
                "unit": "MN bytes served (through 2 SN caches)",
                "baseline": direct_mn,
                "ratio": round(hier_mn / direct_mn, 4) if direct_mn else None,
                "copies_per_sn": round(hier_mn / version_bytes / len(SNS), 3),
                "p50_ms": round(hier["p50_ms"], 1),
                "p99_ms": round(hier["p99_ms"], 1),
                "baseline_p50_ms": round(direct["p50_ms"], 1),
                "baseline_p99_ms": round(direct["p99_ms"], 1),
                "errors": hier["errors"] + direct["errors"],
                "nodes": args.nodes,
                "version_bytes": version_bytes,
                "concurrency": args.concurrency,
            }
        )
    )


if __name__ == "__main__":
    main()
