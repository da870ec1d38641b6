"""Hostile noderanges are refused fast; a legitimate 10,000-node range stays fast.

Any logged-in viewer may type a noderange (node list filter, console wall, boot progress),
so each input below must be answered with a clear error in well under a second, with the
default limits (SNPORTAL_NODERANGE_MAX=100000). Before the bounds, 50 joined ranges took
about 13 s and 500 MB, and a backtracking ``/regex`` froze the web process for ~40 s.

The inventory is what the web process would load: 10,000 nodes ``cn00001…`` in groups of
100 racks, plus 10 nodes with 30-character names (backtracking needs long names). No
database: this times :func:`nodes.noderange.expand`, the one function every page and CLI
verb goes through. Usage: benchmarks/noderange_hostile.py. Last line: one JSON object.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodes.noderange import NoderangeError, expand

NODES = [f"cn{i:05d}" for i in range(1, 10_001)] + [f"{'a' * 30}{i}" for i in range(10)]
GROUPS = {f"rack{r:03d}": NODES[r * 100 : (r + 1) * 100] for r in range(100)}
ATTRS = {"comments": "a" * 30 + "!", "mgt": "ipmi"}

HOSTILE = {
    "50 joined ranges": ",".join(f"r{i}[1-99999]" for i in range(50)),
    "issue example": ",".join(f"{p}[1-100000]" for p in ("node", "n", "x", "y", "z")),
    "cartesian product": "a[1-999]b[1-999]c[1-999]",
    "joined +N ranges": ",".join(f"p{i}x1+99999" for i in range(50)),
    "excluded ranges": "all," + ",".join(f"-e{i}[1-99999]" for i in range(20)),
    "intersected ranges": "@".join(f"i{i}[1-99999]" for i in range(20)),
    "nested parentheses": "(" * 30 + ",".join(f"q{i}[1-99999]" for i in range(20)) + ")" * 30,
    "1000 x all": ",".join(["all"] * 1000),
    "1000 regexes": ",".join(f"/cn{i:03d}.*" for i in range(1000)),
    "backtracking regex (a+)+$": "/(a+)+$x",
    "backtracking regex (a|aa)+$": "/(a|aa)+$",
    "backtracking selector": "comments=~^(a|aa)+$",
    "huge counted repeat": "/(?:a{1000}){1000}",
    "over-long number": "node1-99999999999999999999",
    "over-long +N": "node1+99999999999999999999",
    "a million commas": "a," * 500_000 + "a",
}
LEGITIMATE = {
    "10,000-node range": "cn[00001-10000]",
    "all (10,010 nodes)": "all",
    "regex over 10,010 nodes": "/cn0[0-4].*",
}


def attrs(_node: str) -> dict[str, str]:
    return ATTRS


def best_of_three(expr: str) -> tuple[float, str]:
    """Seconds (best of three) and the outcome: the number of nodes or the error's class."""
    timings, outcome = [], ""
    for _ in range(3):
        start = time.perf_counter()
        try:
            outcome = f"{len(expand(expr, nodes=NODES, groups=GROUPS, attrs=attrs))} nodes"
        except NoderangeError as exc:
            outcome = f"{type(exc).__name__}: {exc.message[:70]}"
        timings.append(time.perf_counter() - start)
    return min(timings), outcome


def main() -> None:
    refused: dict[str, float] = {}
    for name, expr in HOSTILE.items():
        seconds, outcome = best_of_three(expr)
        refused[name] = seconds
        print(f"hostile  {name:30s} {seconds * 1000:8.1f} ms  {outcome}")
    legit: dict[str, float] = {}
    for name, expr in LEGITIMATE.items():
        seconds, outcome = best_of_three(expr)
        legit[name] = seconds
        print(f"legit    {name:30s} {seconds * 1000:8.1f} ms  {outcome}")
    worst = max(refused, key=refused.__getitem__)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"slowest refusal: {worst} in {refused[worst] * 1000:.1f} ms; peak RSS {peak_mb:.0f} MB")
    print(
        json.dumps(
            {
                "benchmark": "noderange_hostile",
                "value": round(refused[worst], 4),
                "unit": "s",
                "slowest": worst,
                "baseline_10k_range_s": round(legit["10,000-node range"], 4),
                "refusals_s": {k: round(v, 4) for k, v in refused.items()},
                "legitimate_s": {k: round(v, 4) for k, v in legit.items()},
                "peak_rss_mb": round(peak_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
