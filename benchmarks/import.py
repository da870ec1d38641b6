"""Inventory import at scale: ``manage.py mkdef -z`` of a 10,000-node xCAT stanza file.

Writes a stanza file shaped like an xCAT export (a ``default-node:`` stanza, then one
stanza per node with groups, MAC, IP, BMC address, BMC user and password), creates a
scratch database next to the configured one (``test_<name>``, migrated, dropped at the
end), and times ``manage.py mkdef -z < file`` as an operator runs it: a fresh process,
one transaction, bulk inserts, every password encrypted.

Usage: benchmarks/import.py [--nodes 10000]
Last line: one JSON object; baseline is xcat-inventory's 17 min 45 s for 10,000 nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BASELINE_S = 17 * 60 + 45


def stanza_file(n: int) -> str:
    lines = [
        "# <xCAT data object stanza file>",
        "",
        "default-node:",
        "    objtype=node",
        "    mgt=ipmi",
        "    netboot=xnba",
        "    bmcusername=ADMIN",
    ]
    for i in range(1, n + 1):
        rack, a, b = i // 40 + 1, i // 250, i % 250 + 1
        lines += [
            "",
            f"cn{i:05d}:",
            "    objtype=node",
            f"    groups=compute,rack{rack:03d},all",
            f"    mac=52:54:01:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
            f"    ip=10.{20 + a // 250}.{a % 250}.{b}",
            f"    bmc=10.{120 + a // 250}.{a % 250}.{b}",
            f"    bmcpassword=bmc-pw-{i}",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    args = parser.parse_args()

    import django

    django.setup()
    from _common import scratch_database
    from django.db import connection

    from testsupport.processes import database_url_for_subprocess

    with scratch_database():
        env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}
        with tempfile.NamedTemporaryFile("w", suffix=".stanza") as f:
            f.write(stanza_file(args.nodes))
            f.flush()
            with open(f.name) as stdin:
                start = time.monotonic()
                done = subprocess.run(
                    [sys.executable, str(ROOT / "manage.py"), "mkdef", "-z"],
                    stdin=stdin,
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=ROOT,
                )
                elapsed = time.monotonic() - start
        if done.returncode != 0:
            raise SystemExit(f"mkdef -z failed:\n{done.stderr[-2000:]}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM nodes_node")
            count = cursor.fetchone()[0]
        if count != args.nodes:
            raise SystemExit(f"expected {args.nodes} nodes, found {count}")
        print(f"mkdef -z: {args.nodes} nodes in {elapsed:.2f} s ({done.stdout.strip()})")
    result = {
        "benchmark": "import",
        "value": round(elapsed, 2),
        "unit": "s",
        "baseline": BASELINE_S,
        "ratio": round(elapsed / BASELINE_S, 4),
        "nodes": args.nodes,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
