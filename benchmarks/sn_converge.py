"""A service node's start reads only its own nodes, whatever the total (issue 10's bar).

Creates a scratch database with N nodes spread over S service nodes (xCAT's stated capacity
is 500 nodes per service node: 10,000 nodes over 20 by default), each compute node naming a
primary and the next service node as backup. Times the agent's converge read
(``hierarchy.agent.own_hosts``: the rows dnsmasq's config is written from) for one service
node, counting its queries and rows, at N and at N/10 in the database.

Baseline: what xCAT's service node does on start (xcat-core #5505, research/hierarchy.md
§3): regenerate from *all* nodes, i.e. read every node's row — measured here as the same
columns for every node.
Usage: benchmarks/sn_converge.py [--nodes 10000] [--service-nodes 20]. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def populate(total: int, sns: int) -> None:
    """``sns`` service nodes sn01… in group ``service``; ``total`` compute nodes behind them,
    each naming a primary and the next service node as its backup."""
    from nodes.models import Group, Node, NodeGroup, sort_key
    from testsupport.bulk import bulk_nodes

    service = Group.objects.create(name="service")
    sn_names = [f"sn{i:02d}" for i in range(1, sns + 1)]
    sn_rows = Node.objects.bulk_create([Node(name=n, sortkey=sort_key(n)) for n in sn_names])
    NodeGroup.objects.bulk_create([NodeGroup(node=n, group=service) for n in sn_rows])
    bulk_nodes(
        total,
        start=1,
        prefix="cn",
        servicenode=lambda i: f"{sn_names[i % sns]},{sn_names[(i + 1) % sns]}",
    )


def measure(read) -> tuple[float, int, int]:
    """Best of five: seconds, queries, rows."""
    from _common import timed

    times, queries, rows = timed(read, 5)
    return min(times) / 1000, queries, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--service-nodes", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from _common import scratch_database

    from hierarchy.agent import own_hosts
    from nodes.models import Node

    def all_nodes() -> list:
        return list(Node.objects.exclude(mac="").values_list("name", "mac", "ip"))

    results = {}
    for total in (args.nodes // 10, args.nodes):
        with scratch_database():
            populate(total, args.service_nodes)
            results[total] = {
                "own": measure(lambda: own_hosts("sn01")),
                "all": measure(all_nodes),
            }
    small, large = results[args.nodes // 10], results[args.nodes]
    for total, r in results.items():
        (t, q, n), (bt, _, bn) = r["own"], r["all"]
        print(
            f"{total:>6} nodes / {args.service_nodes} SNs: sn01 converge reads {n} rows in "
            f"{q} query, {t * 1000:.1f} ms; reading every node (xCAT-style): {bn} rows, "
            f"{bt * 1000:.1f} ms"
        )
    print(
        json.dumps(
            {
                "benchmark": "sn_converge",
                "value": round(large["own"][0] * 1000, 2),
                "unit": "ms",
                "queries": large["own"][1],
                "queries_at_tenth": small["own"][1],
                "rows": large["own"][2],
                "baseline": round(large["all"][0] * 1000, 2),
                "baseline_rows": large["all"][2],
                "nodes": args.nodes,
                "service_nodes": args.service_nodes,
            }
        )
    )


if __name__ == "__main__":
    main()
