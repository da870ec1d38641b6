"""Page speed with 10,000 nodes: server time and query counts of the busiest pages.

A scratch database (``snportal_bench_<pid>``, migrated, dropped at the end) gets N nodes in
groups of 40 with statuses spread over the boot states, ten timeline events each and a few
hundred jobs and audit rows. Each page is rendered R times through Django's full request
path (middleware, session login, templates) in this process; p50/p95/p99 of the server
time are printed with the page's query count, which must not grow with the node count
(the same pages are also measured with 100 nodes to show it).

Target: p95 under 150 ms for every page. Usage: benchmarks/pages.py [--nodes 10000]
Last line: one JSON object (value = worst p95 in ms, baseline = the 150 ms target).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
TARGET_P95_MS = 150.0
STATUSES = ["", "powering-on", "netbooting", "booting", "booted", "booted", "booted", "failed"]


def populate(n: int) -> None:
    from django.utils import timezone

    from nodes.models import Group, Node, NodeEvent, NodeGroup, sort_key
    from snportal.models import AuditEvent, Job

    now = timezone.now()
    groups = Group.objects.bulk_create(
        [Group(name=f"rack{i:03d}") for i in range(n // 40 + 1)] + [Group(name="compute")]
    )
    compute = groups[-1]
    nodes = Node.objects.bulk_create(
        [
            Node(
                name=f"cn{i:05d}",
                sortkey=sort_key(f"cn{i:05d}"),
                mac=f"52:54:03:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                bmc=f"127.0.0.1:{20000 + i}",
                status=STATUSES[i % len(STATUSES)],
                statustime=now,
                statusdetail="checksum mismatch" if STATUSES[i % len(STATUSES)] == "failed" else "",
                power="on" if i % 3 else "off",
            )
            for i in range(1, n + 1)
        ],
        batch_size=2000,
    )
    NodeGroup.objects.bulk_create(
        [NodeGroup(node=node, group=groups[i // 40], position=0) for i, node in enumerate(nodes)]
        + [NodeGroup(node=node, group=compute, position=1) for node in nodes],
        batch_size=5000,
    )
    NodeEvent.objects.bulk_create(
        [
            NodeEvent(node=node, kind="status", message=f"event {k}")
            for node in nodes
            for k in range(10)
        ],
        batch_size=10000,
    )
    Job.objects.bulk_create(
        [
            Job(kind="rpower", func="x", target=f"rack{i:03d}", status="succeeded")
            for i in range(300)
        ]
        + [Job(kind="genimage", func="x", target="img", status="running", progress=40)]
    )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(verb="node.rpower", username="bench", object_name=f"rack{i:03d}")
            for i in range(500)
        ]
    )


def measure(client, url: str, rounds: int) -> tuple[list[float], int]:
    from _common import timed

    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    times, queries, _ = timed(get, rounds)
    return times, queries


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


PAGES = [
    ("dashboard", "/"),
    ("node list, first page", "/nodes/"),
    ("node list, filtered", "/nodes/?noderange=rack001,rack002&status=booted"),
    ("node page", "/nodes/cn00042/"),
]


def run_pages(n: int, rounds: int) -> dict[str, tuple[list[float], int]]:
    from _common import scratch_database
    from django.contrib.auth import get_user_model
    from django.test import Client

    with scratch_database():
        populate(n)
        user = get_user_model().objects.create_user("bench-viewer", password="x")
        from snportal import roles

        roles.set_role(user, roles.VIEWER)
        client = Client()
        client.force_login(user)
        return {name: measure(client, url, rounds) for name, url in PAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    small = run_pages(100, 5)
    big = run_pages(args.nodes, args.rounds)
    worst = 0.0
    p50s, p99s = [], []
    print(f"{'page':<24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queries':>8} {'@100':>6}")
    for name, _ in PAGES:
        times, queries = big[name]
        p50, p95, p99 = pct(times, 50), pct(times, 95), pct(times, 99)
        worst = max(worst, p95)
        p50s.append(p50)
        p99s.append(p99)
        print(f"{name:<24} {p50:8.1f} {p95:8.1f} {p99:8.1f} {queries:8d} {small[name][1]:6d}")
    constant = all(big[name][1] == small[name][1] for name, _ in PAGES)
    print(f"queries constant from 100 to {args.nodes} nodes: {constant}")
    print(f"target: p95 < {TARGET_P95_MS} ms on every page")
    print(
        json.dumps(
            {
                "benchmark": "pages",
                "value": round(worst, 1),
                "unit": "ms",
                "baseline": TARGET_P95_MS,
                "ratio": round(worst / TARGET_P95_MS, 2),
                "p50_ms": round(max(p50s), 1),
                "p95_ms": round(worst, 1),
                "p99_ms": round(max(p99s), 1),
                "queries_constant": constant,
                "nodes": args.nodes,
            }
        )
    )


if __name__ == "__main__":
    main()
