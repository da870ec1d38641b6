"""Push fan-out: 200 browsers subscribed, 1,000 node status changes, commit → every browser.

The real path: a scratch database (``snportal_bench_<pid>``), the real console server
(``manage.py runconsoles`` as a subprocess, which LISTENs once), 200 websocket clients with
events tickets subscribed to ``node`` (as the dashboard is), and this process committing
1,000 status changes through :func:`snportal.events.node_changed` (each its own transaction,
NOTIFY after commit). Each payload carries its commit time; the latency of one change is
when the *last* of the 200 clients had it. Reported: p50/p95/p99 of that, and lost messages.

Baseline: the same 1,000 NOTIFYs received by one bare psycopg ``LISTEN`` connection in this
process (PostgreSQL's own delivery, no fan-out). Target: p99 under 1 s.
Usage: benchmarks/pushfanout.py [--clients 200] [--changes 1000] [--rate 200]
Last line: one JSON object (value = p99 ms commit → all clients).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
TARGET_P99_MS = 1000.0


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def publish_all(changes: int, rate: float) -> None:
    """Commit ``changes`` status changes at ``rate`` per second (autocommit: one each)."""
    from django.db import connection

    from snportal import events

    interval = 1.0 / rate
    start = time.perf_counter()
    try:
        for i in range(changes):
            name = f"cn{i % 500:05d}"
            events.node_changed(name, status="booted", prev="booting", seq=i, t=time.time())
            delay = start + (i + 1) * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    finally:
        connection.close()  # this thread's connection; the scratch database is dropped later


async def client(url: str, received: dict[int, float], ready: asyncio.Event, changes: int) -> None:
    """One browser: ``received[seq]`` = milliseconds from the change's commit to receipt."""
    from websockets.asyncio.client import connect

    async with connect(url, origin="http://127.0.0.1:8000", max_queue=None) as ws:
        await ws.send(json.dumps({"subscribe": ["node"]}))
        ready.set()
        while len(received) < changes:
            try:
                text = await asyncio.wait_for(ws.recv(), 10)
            except TimeoutError:
                break
            payload = json.loads(text)
            if "seq" in payload:
                received[payload["seq"]] = (time.time() - payload["t"]) * 1000


async def run_clients(port: int, clients: int, changes: int, rate: float) -> list[dict[int, float]]:
    from consoles import tickets

    received: list[dict[int, float]] = [{} for _ in range(clients)]
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = []
    for i in range(clients):
        token = tickets.mint(user_id=None, username=f"b{i}", nodes=[], mode=tickets.VIEW)
        url = f"ws://127.0.0.1:{port}/ws/events?ticket={token}"
        tasks.append(asyncio.create_task(client(url, received[i], readies[i], changes)))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    await asyncio.sleep(1.0)  # subscriptions applied on the server
    await asyncio.to_thread(publish_all, changes, rate)
    await asyncio.gather(*tasks, return_exceptions=True)
    return received


async def bare_listen(changes: int, rate: float) -> list[float]:
    """PostgreSQL's own NOTIFY delivery to one LISTEN connection: the baseline."""
    from consoles.management.commands.runconsoles import listen_connection

    latencies: list[float] = []
    conn = await listen_connection()
    async with conn:
        await conn.execute("LISTEN snportal_events")

        async def consume() -> None:
            # notifies() must be waiting before the first NOTIFY arrives, or it is dropped.
            async for note in conn.notifies(timeout=15, stop_after=changes):
                payload = json.loads(note.payload)
                latencies.append((time.time() - payload["t"]) * 1000)

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        await asyncio.to_thread(publish_all, changes, rate)
        await consumer
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="changes per second")
    args = parser.parse_args()

    import django

    django.setup()
    from _common import free_port, scratch_database, serving

    from testsupport.processes import database_url_for_subprocess

    with scratch_database():
        baseline = asyncio.run(bare_listen(args.changes, args.rate))
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "LOG_LEVEL": "WARNING"}
        command = [sys.executable, str(ROOT / "manage.py"), "runconsoles", "--port", str(port)]
        with serving(command, env, port, "runconsoles", ROOT):
            received = asyncio.run(run_clients(port, args.clients, args.changes, args.rate))

    lost = sum(args.changes - len(r) for r in received)
    # A change is delivered when the last subscribed client has it.
    latencies = [
        max(r[seq] for r in received)
        for seq in range(args.changes)
        if all(seq in r for r in received)
    ]
    p50, p95, p99 = pct(latencies, 50), pct(latencies, 95), pct(latencies, 99)
    b99 = pct(baseline, 99)
    print(f"{args.clients} clients, {args.changes} changes at {args.rate:.0f}/s, console server")
    print(
        f"commit → all {args.clients} clients: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"
    )
    print(f"lost deliveries: {lost} of {args.clients * args.changes}")
    print(
        f"baseline (one bare LISTEN connection): p50 {pct(baseline, 50):.1f} ms, p99 {b99:.1f} ms"
    )
    print(f"target: p99 < {TARGET_P99_MS:.0f} ms")
    print(
        json.dumps(
            {
                "benchmark": "pushfanout",
                "value": round(p99, 1),
                "unit": "ms",
                "baseline": round(b99, 1),
                "ratio": round(p99 / b99, 1) if b99 else None,
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "p99_ms": round(p99, 1),
                "lost": lost,
                "clients": args.clients,
                "changes": args.changes,
            }
        )
    )


if __name__ == "__main__":
    main()
