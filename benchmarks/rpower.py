"""rpower at scale: snportal's IPMI driver vs Debian's ipmitool over the same lab BMCs.

Starts N lab BMCs (real ipmi_sim, RMCP+ on 127.0.0.1), then times:
  snportal  rpower stat, rpower on         (nodes.power.ipmi, one process, threads)
  ipmitool  power status, power on         (ipmitool -I lanplus -C 3, xargs -P 32)
  snportal  rpower stat with 10 % of the BMCs silent (bound ports that never answer)

Usage: benchmarks/rpower.py [--nodes 1000] [--per-process 32] [--concurrency 48]
Last line: one JSON object (benchmark, value = stat seconds, baseline = ipmitool stat
seconds, ratio, on_s, ipmitool_on_s, unreachable_extra_s, nodes).
xCAT's published figures for simulated BMCs: 1,000 nodes 15 s stat / 60 s on.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.bmcsim import DEFAULT_BMCS_PER_PROCESS, Lab  # noqa: E402
from nodes.power.ipmi import DEFAULT_CONCURRENCY, BmcTarget, rpower  # noqa: E402

PASSWORD = "bench-pw"


def ipmitool_all(ports: list[int], *args: str, parallel: int = 32) -> tuple[float, int]:
    """Wall time and number of successful runs of ipmitool over every port via xargs."""
    cmd = ["xargs", "-P", str(parallel), "-I{}", "ipmitool", "-I", "lanplus", "-C", "3"]
    cmd += ["-H", "127.0.0.1", "-p", "{}", "-U", "admin", "-P", PASSWORD, *args]
    start = time.monotonic()
    out = subprocess.run(
        cmd, input="\n".join(map(str, ports)), capture_output=True, text=True
    ).stdout
    return time.monotonic() - start, out.count("Chassis Power")


def timed(label: str, targets: list[BmcTarget], verb: str, **kw: float) -> tuple[float, int]:
    start = time.monotonic()
    results = rpower(targets, verb, **kw)
    elapsed = time.monotonic() - start
    ok = sum(r.ok for r in results.values())
    errors = {r.error for r in results.values() if not r.ok}
    if errors:
        print(f"  {label}: {len(results) - ok} errors, e.g. {sorted(errors)[:2]}", file=sys.stderr)
    return elapsed, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--base-port", type=int, default=30000)
    parser.add_argument("--per-process", type=int, default=DEFAULT_BMCS_PER_PROCESS)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    args = parser.parse_args()
    n, conc = args.nodes, args.concurrency
    (ROOT / "var").mkdir(exist_ok=True)
    rows: list[tuple[str, str, float, int, int]] = []
    with (
        tempfile.TemporaryDirectory(dir=ROOT / "var", prefix="bench-rpower-") as tmp,
        Lab(tmp, per_process=args.per_process) as lab,
    ):
        t = time.monotonic()
        bmcs = lab.start(n, args.base_port, PASSWORD)
        print(
            f"started {n} BMCs in {len(lab.pids)} ipmi_sim processes in "
            f"{time.monotonic() - t:.2f} s",
            file=sys.stderr,
        )
        targets = [BmcTarget(b.name, b.host, b.port, b.user, b.password) for b in bmcs]
        ports = [b.port for b in bmcs]

        stat_s, ok = timed("stat", targets, "stat", concurrency=conc)
        rows.append(("snportal", "rpower stat", stat_s, ok, n))
        on_s, ok = timed("on", targets, "on", concurrency=conc)
        on_ok = sum(lab.power(b.name) == "on" for b in bmcs)
        rows.append(("snportal", "rpower on", on_s, min(ok, on_ok), n))
        timed("off (untimed reset for ipmitool)", targets, "off", concurrency=conc)

        it_stat_s, ok = ipmitool_all(ports, "power", "status")
        rows.append(("ipmitool -P 32", "power status", it_stat_s, ok, n))
        it_on_s, ok = ipmitool_all(ports, "power", "on")
        on_ok = sum(lab.power(b.name) == "on" for b in bmcs)
        rows.append(("ipmitool -P 32", "power on", it_on_s, min(ok, on_ok), n))

        # 10 % of the BMCs replaced by silent ports: bound, never read, never answer.
        dead_n = max(1, n // 10)
        silent = []
        for _ in range(dead_n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            silent.append(s)
        dead = [
            BmcTarget(f"dead{i}", "127.0.0.1", s.getsockname()[1], "admin", PASSWORD)
            for i, s in enumerate(silent)
        ]
        mixed = targets[: n - dead_n] + dead
        dead_s, ok = timed("stat with 10% dead", mixed, "stat", concurrency=conc)
        rows.append(("snportal", f"rpower stat, {dead_n} silent", dead_s, ok, n - dead_n))
        for s in silent:
            s.close()

    print(f"{'tool':16} {'operation':28} {'seconds':>8} {'ok':>6} {'expected':>8}")
    for tool, op, secs, ok, want in rows:
        print(f"{tool:16} {op:28} {secs:8.2f} {ok:6d} {want:8d}")
    print(f"{'xCAT (published)':16} {'rpower stat / on, 1000':28} {'15 / 60':>8}")
    print(
        json.dumps(
            {
                "benchmark": "rpower",
                "value": round(stat_s, 3),
                "unit": "s",
                "baseline": round(it_stat_s, 3),
                "ratio": round(stat_s / it_stat_s, 3),
                "on_s": round(on_s, 3),
                "ipmitool_on_s": round(it_on_s, 3),
                "unreachable_extra_s": round(dead_s - stat_s, 3),
                "nodes": n,
            }
        )
    )


if __name__ == "__main__":
    main()
