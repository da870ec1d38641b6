"""Console fan-out: simulated nodes → console server → many viewers; vs conserver and a bare relay.

Three systems read the *same* simulated nodes (TCP servers on 127.0.0.1 emitting lines
``<node> <seq> <send time>``, one producer process) and serve the same viewer counts:

* **broker** — snportal's console server (consoles.broker + consoles.server, websockets,
  tickets verified, ring buffer and log file per node) in its own process. The nodes feed
  it through :class:`consoles.sources.TcpSource`, the same Source interface the IPMI SOL
  client implements: 100 ipmi_sim SOL sessions would measure ipmi_sim, not the broker.
  No audit hooks (no database in the benchmark).
* **conserver** — Debian's conserver (``type host`` consoles), viewers are ``console -s``
  processes whose stdout the benchmark reads.
* **relay** — a bare ``websockets`` relay: read the node, ``broadcast()`` to its viewers.
  No tickets, ring, log or per-viewer queue: the practical ceiling.

Scenarios: (a) 1 node × 1/10/50/100 viewers at 100 lines/s; (b) 100 nodes × 5 viewers at
20 lines/s per node; (c) 1 node × 100 viewers, rate doubled until a line is lost or
p99 passes 1 s. Latency is from the producer's timestamp to the viewer's receipt (same
clock). The last line is one JSON object.

    .venv/bin/python benchmarks/console_fanout.py [--seconds 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LINE = re.compile(rb"(\d{5}) (\d{8}) (\d+\.\d{6}) ")
SECRET = secrets.token_hex(32)
WIDTH = 78  # bytes per line before CRLF, like a boot log line


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: all held open while choosing, so none is handed out twice."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def configure_django() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY=SECRET, USE_TZ=True)


# --- the simulated nodes -----------------------------------------------------------------------
def producer_main(ports: list[int], rate: float, lines: int, go: mp.Event, ready: mp.Event) -> None:
    """Each port is one node: accept one reader, wait for ``go``, write ``lines`` at ``rate``."""

    async def main() -> None:
        writers: dict[int, asyncio.StreamWriter] = {}

        def on_connect(index: int):
            async def handle(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
                writers[index] = w

            return handle

        servers = [
            await asyncio.start_server(on_connect(i), "127.0.0.1", p) for i, p in enumerate(ports)
        ]
        ready.set()
        while not go.is_set() or len(writers) < len(ports):
            await asyncio.sleep(0.01)
        start = time.time()
        sent = 0
        while sent < lines:
            due = min(lines, int((time.time() - start) * rate) + 1)
            now = time.time()
            for index, w in writers.items():
                w.write(
                    b"".join(
                        (b"%05d %08d %.6f " % (index, seq, now)).ljust(WIDTH, b".") + b"\r\n"
                        for seq in range(sent, due)
                    )
                )
            sent = due
            await asyncio.sleep(0.002 if rate > 500 else 0.005)
        await asyncio.sleep(3600)  # keep the connections open; the parent terminates us
        for s in servers:
            s.close()

    asyncio.run(main())


# --- the systems under test --------------------------------------------------------------------
def broker_main(port: int, node_ports: list[int], log_dir: str, ready: mp.Event) -> None:
    configure_django()
    from consoles.broker import Broker, NodeConsole
    from consoles.capture import ConsoleLog
    from consoles.server import ConsoleServer
    from consoles.sources import TcpSource

    async def main() -> None:
        broker = Broker()
        for i, p in enumerate(node_ports):
            log = ConsoleLog(Path(log_dir), f"n{i}")
            broker.add(NodeConsole(f"n{i}", TcpSource("127.0.0.1", p), log_file=log))
        server = ConsoleServer(broker, allowed_origins=[], ticket_max_age=600)
        await server.start("127.0.0.1", port)
        ready.set()
        await broker.flush_forever()

    asyncio.run(main())


def relay_main(port: int, node_ports: list[int], ready: mp.Event) -> None:
    from websockets.asyncio.server import broadcast, serve

    async def main() -> None:
        viewers: dict[int, set] = {i: set() for i in range(len(node_ports))}

        async def handler(conn) -> None:
            node = int(conn.request.path.rsplit("/", 1)[1][1:])
            viewers[node].add(conn)
            try:
                await conn.wait_closed()
            finally:
                viewers[node].discard(conn)

        async def pump(i: int, p: int) -> None:
            reader, _ = await asyncio.open_connection("127.0.0.1", p)
            while data := await reader.read(65536):
                broadcast(viewers[i], data)

        await serve(handler, "127.0.0.1", port, compression=None)
        loop = asyncio.get_running_loop()
        pumps = [loop.create_task(pump(i, p)) for i, p in enumerate(node_ports)]
        ready.set()
        await asyncio.gather(*pumps)
        await asyncio.Future()

    asyncio.run(main())


def start_conserver(workdir: Path, port: int, node_ports: list[int]) -> subprocess.Popen[bytes]:
    conf = [
        "default * { rw *; logfile " + str(workdir) + "/&.log; }",
        "access * { trusted 127.0.0.1; allowed 127.0.0.1; }",
    ]
    conf += [
        f"console n{i} {{ type host; host 127.0.0.1; port {p}; master 127.0.0.1; }}"
        for i, p in enumerate(node_ports)
    ]
    (workdir / "conserver.cf").write_text("\n".join(conf) + "\n")
    (workdir / "conserver.passwd").write_text("")
    return subprocess.Popen(
        [
            "conserver", "-C", str(workdir / "conserver.cf"),
            "-P", str(workdir / "conserver.passwd"),
            "-p", str(port), "-M", "127.0.0.1", "-b", str(free_port()), "-m", "128",
            "-L", str(workdir / "conserver.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


# --- the viewers -------------------------------------------------------------------------------
@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    seen: dict[tuple[int, int], set[int]] = field(default_factory=dict)
    received: int = 0

    def feed(self, viewer: int, buffer: bytearray, data: bytes) -> None:
        now = time.time()
        buffer += data
        *lines, rest = bytes(buffer).split(b"\r\n")
        buffer[:] = rest
        for line in lines:
            m = LINE.search(line)
            if m:
                node, seq, sent = int(m[1]), int(m[2]), float(m[3])
                self.latencies.append((now - sent) * 1000)
                self.seen.setdefault((viewer, node), set()).add(seq)
                self.received += 1


async def websocket_viewers(
    kind: str, port: int, plan: list[int], tally: Tally, stop: asyncio.Event
):
    """One websocket per viewer; ``plan[v]`` is the node viewer ``v`` watches."""
    from websockets.asyncio.client import connect

    from consoles import tickets

    opening = asyncio.Semaphore(50)  # 500 handshakes at once overflow the listen backlog

    async def viewer(v: int, node: int, connected: asyncio.Event) -> None:
        path = f"/ws/console/n{node}"
        if kind == "broker":
            token = tickets.mint(user_id=None, username="bench", nodes=[f"n{node}"], mode="view")
            path += f"?ticket={token}"
        async with opening:
            ws = await connect(f"ws://127.0.0.1:{port}{path}", compression=None, max_queue=None)
        async with ws:
            connected.set()
            buffer = bytearray()
            while not stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                if isinstance(frame, bytes):
                    tally.feed(v, buffer, frame[2:] if kind == "broker" else frame)

    events = [asyncio.Event() for _ in plan]
    tasks = [asyncio.create_task(viewer(v, n, events[v])) for v, n in enumerate(plan)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 60)
    return tasks


async def conserver_viewers(port: int, plan: list[int], tally: Tally, stop: asyncio.Event):
    async def viewer(v: int, node: int, connected: asyncio.Event) -> None:
        proc = await asyncio.create_subprocess_exec(
            "console", "-n", "-M", "127.0.0.1", "-p", str(port), "-l", "bench", "-s", f"n{node}",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.stdout is not None
        buffer = bytearray()
        first = await proc.stdout.read(4096)  # conserver's "[Enter `^Ec?' for help]" banner
        connected.set()
        tally.feed(v, buffer, first)
        try:
            while not stop.is_set():
                try:
                    data = await asyncio.wait_for(proc.stdout.read(65536), 0.5)
                except TimeoutError:
                    continue
                if not data:
                    break
                tally.feed(v, buffer, data)
        finally:
            proc.kill()
            await proc.wait()

    events = [asyncio.Event() for _ in plan]
    tasks = [asyncio.create_task(viewer(v, n, events[v])) for v, n in enumerate(plan)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
    await asyncio.sleep(1.0)  # spy connections are announced before they stream
    return tasks


# --- one run -----------------------------------------------------------------------------------
@dataclass
class Result:
    system: str
    nodes: int
    viewers: int
    rate: float
    p50_ms: float
    p99_ms: float
    throughput: float  # lines delivered to viewers per second
    lost: int


def run(system: str, nodes: int, per_node: int, rate: float, seconds: float) -> Result:
    ctx = mp.get_context("fork")
    node_ports = free_ports(nodes)
    lines = int(rate * seconds)
    go, ready = ctx.Event(), ctx.Event()
    producer = ctx.Process(target=producer_main, args=(node_ports, rate, lines, go, ready))
    producer.start()
    ready.wait(10)
    port = free_port()
    sut_ready = ctx.Event()
    workdir = Path(tempfile.mkdtemp(prefix=f"fanout-{system}-"))
    conserver = sut = None
    if system == "broker":
        sut = ctx.Process(target=broker_main, args=(port, node_ports, str(workdir), sut_ready))
    elif system == "relay":
        sut = ctx.Process(target=relay_main, args=(port, node_ports, sut_ready))
    if sut is not None:
        sut.start()
        sut_ready.wait(20)
    else:
        conserver = start_conserver(workdir, port, node_ports)
        time.sleep(1.5)
    plan = [n for n in range(nodes) for _ in range(per_node)]
    tally = Tally()

    async def main() -> None:
        stop = asyncio.Event()
        if system == "conserver":
            tasks = await conserver_viewers(port, plan, tally, stop)
        else:
            tasks = await websocket_viewers(system, port, plan, tally, stop)
        go.set()
        started = time.monotonic()
        want = lines * len(plan)
        while time.monotonic() - started < seconds + 5 and tally.received < want:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    t0 = time.monotonic()
    try:
        asyncio.run(main())
    finally:
        elapsed = time.monotonic() - t0
        producer.terminate()
        if sut is not None:
            sut.terminate()
            sut.join(5)
        if conserver is not None:
            os.killpg(conserver.pid, 15)
            conserver.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
    del elapsed
    lost = sum(lines - len(tally.seen.get((v, n), ())) for v, n in enumerate(plan))
    lat = sorted(tally.latencies) or [float("nan")]
    return Result(
        system,
        nodes,
        len(plan),
        rate,
        round(statistics.median(lat), 2),
        round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2),
        round(tally.received / seconds),
        lost,
    )


def show(r: Result) -> None:
    print(
        f"{r.system:9} nodes={r.nodes:3} viewers={r.viewers:3} rate={r.rate:7.0f}/s/node  "
        f"p50={r.p50_ms:8.2f} ms  p99={r.p99_ms:8.2f} ms  delivered={r.throughput:8.0f} lines/s  "
        f"lost={r.lost}",
        flush=True,
    )


def max_rate(system: str, seconds: float, start: float, limit: float) -> Result | None:
    """(c): double the rate for 1 node × 100 viewers until a line is lost or p99 > 1 s."""
    best, rate = None, start
    while rate <= limit:
        r = run(system, 1, 100, rate, seconds)
        show(r)
        if r.lost or r.p99_ms > 1000:
            break
        best, rate = r, rate * 2
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="(a) at 100 viewers only, no (b)")
    args = parser.parse_args()
    configure_django()
    systems = ["broker", "conserver", "relay"]
    print("simulated nodes feed the broker through consoles.sources.TcpSource (the Source")
    print("interface SOL implements); conserver and the bare relay read the same nodes.")
    results: dict[tuple[str, int, int], Result] = {}
    counts = [100] if args.quick else [1, 10, 50, 100]
    print("(a) 1 node, 100 lines/s")
    for viewers in counts:
        for system in systems:
            r = run(system, 1, viewers, 100, args.seconds)
            results[(system, 1, viewers)] = r
            show(r)
    if not args.quick:
        print("(b) 100 nodes x 5 viewers, 20 lines/s per node")
        for system in systems:
            try:
                show(run(system, 100, 5, 20, args.seconds))
            except OSError as exc:  # e.g. conserver resetting 500 client connections
                print(f"{system:9} nodes=100 viewers=500: could not run ({exc})")
    print("(c) 1 node x 100 viewers: highest rate with nothing lost and p99 < 1 s")
    peak = {s: max_rate(s, min(args.seconds, 3.0), 400, 51200) for s in ("broker", "relay")}
    broker, conserver = results[("broker", 1, 100)], results[("conserver", 1, 100)]
    broker_peak = peak["broker"].throughput if peak["broker"] else 0
    relay_peak = peak["relay"].throughput if peak["relay"] else 0
    print(f"peak delivered lines/s: broker {broker_peak}, relay {relay_peak}")
    print(
        json.dumps(
            {
                "benchmark": "console_fanout",
                "value": broker.p99_ms,
                "unit": "ms p99 at 1 node x 100 viewers x 100 lines/s",
                "baseline": conserver.p99_ms,
                "ratio": round(broker_peak / relay_peak, 3) if relay_peak else None,
                "p50_ms": broker.p50_ms,
                "p99_ms": broker.p99_ms,
                "lost": broker.lost,
                "conserver_p50_ms": conserver.p50_ms,
            }
        )
    )


if __name__ == "__main__":
    main()
