"""Measure pyghmi 1.6.19's lost-wakeup stalls with and without ``nodes.power.pyghmi_fixes``.

Against lab BMCs (real ipmi_sim on 127.0.0.1), each mode in a fresh process:
  seq    — one session, N sequential get_power() (Get Device ID, which ipmi_sim answers
           at once, then Get Chassis Status); calls slower than 0.2 s are stalls
  logins — R rounds of T threads each logging in to its own BMC at once (wall time of
           the round), then T threads sending 10 Get Chassis Status each on those sessions
           (the slowest call is reported), then logging out

Usage: benchmarks/pyghmi_stall.py [--calls 300] [--threads 50] [--rounds 5]
Last line: one JSON object with the figures for both modes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _run_threads(fn: object, arglist: list[tuple]) -> float:
    """Start one thread per argument tuple at once; wall time until all are done."""
    workers = [threading.Thread(target=fn, args=a) for a in arglist]  # type: ignore[arg-type]
    t = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return round(time.monotonic() - t, 3)


def _measure(patched: bool, calls: int, threads: int, rounds: int, port: int) -> dict:
    from pyghmi.ipmi import command

    from lab.bmcsim import Lab
    from nodes.power import pyghmi_fixes

    if patched:
        pyghmi_fixes.apply()
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp, Lab(tmp) as lab:
        bmcs = lab.start(threads, port, "stall-pw")
        c = command.Command(bmc="127.0.0.1", port=port, userid=b"admin", password=b"stall-pw")
        times = []
        t0 = time.monotonic()
        for _ in range(calls):
            t = time.monotonic()
            c.get_power()
            times.append(time.monotonic() - t)
        seq_total = time.monotonic() - t0
        c.ipmi_session.logout()
        walls = []
        slowest: list[float] = []
        for _ in range(rounds):
            sessions: list[command.Command] = []

            def login(port: int, sessions: list = sessions) -> None:
                sessions.append(
                    command.Command(
                        bmc="127.0.0.1", port=port, userid=b"admin", password=b"stall-pw"
                    )
                )

            def poll(s: command.Command) -> None:
                for _ in range(10):
                    t = time.monotonic()
                    s.raw_command(netfn=0, command=1)
                    slowest.append(time.monotonic() - t)

            walls.append(_run_threads(login, [(b.port,) for b in bmcs]))
            _run_threads(poll, [(s,) for s in sessions])
            for s in sessions:
                s.ipmi_session.logout()
    times.sort()
    return {
        "patched": patched,
        "seq_calls": calls,
        "seq_total_s": round(seq_total, 3),
        "seq_p50_ms": round(times[len(times) // 2] * 1000, 2),
        "seq_max_ms": round(times[-1] * 1000, 1),
        "seq_stalls_over_200ms": sum(t > 0.2 for t in times),
        "login_threads": threads,
        "login_round_walls_s": walls,
        "concurrent_call_max_ms": round(max(slowest) * 1000, 1),
        "concurrent_calls_over_200ms": sum(t > 0.2 for t in slowest),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=["patched", "unpatched"])
    args = parser.parse_args()
    if args.child:
        port = 18000 if args.child == "patched" else 18200
        out = _measure(args.child == "patched", args.calls, args.threads, args.rounds, port)
        print(json.dumps(out))
        return
    rows = []
    for mode in ("unpatched", "patched"):
        cmd = [sys.executable, __file__, "--child", mode]
        cmd += ["--calls", str(args.calls), "--threads", str(args.threads)]
        cmd += ["--rounds", str(args.rounds)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=os.environ)
        if proc.returncode:
            sys.exit(proc.stderr)
        rows.append(json.loads(proc.stdout.splitlines()[-1]))
    for r in rows:
        print(
            f"{'patched' if r['patched'] else 'unpatched':10} seq {r['seq_calls']} calls "
            f"{r['seq_total_s']:7.3f} s p50 {r['seq_p50_ms']} ms max {r['seq_max_ms']} ms "
            f"stalls {r['seq_stalls_over_200ms']:3d} | {r['login_threads']} concurrent logins, "
            f"round walls {r['login_round_walls_s']} s, then calls: max "
            f"{r['concurrent_call_max_ms']} ms, {r['concurrent_calls_over_200ms']} over 200 ms"
        )
    print(json.dumps({"benchmark": "pyghmi_stall", "runs": rows}))


if __name__ == "__main__":
    main()
