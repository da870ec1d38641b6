"""nodeset at scale: ``manage.py nodeset <10,000 nodes> osimage=…`` as an operator runs it.

Creates a scratch database next to the configured one (``test_<name>``, migrated, dropped
at the end), bulk-creates N nodes with MACs and one image with a packed version, then times
(a) the ``nodeset`` service call in this process and (b) the whole command in a fresh
process (start-up, noderange, the bulk update, events, audit), best of three each.

Baseline: xCAT took 4 min 29 s for 2,500 nodes (xcat-core #3087); scaled linearly to N.
Usage: benchmarks/nodeset.py [--nodes 10000]. Last line: one JSON object.
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

XCAT_SECONDS, XCAT_NODES = 4 * 60 + 29, 2500


def populate(n: int, images_dir: Path) -> str:
    """N nodes cn00001… with MACs, and a packed image; returns the image name."""
    from _common import published_image
    from django.conf import settings

    from nodes.models import Node, sort_key

    settings.IMAGES_DIR = images_dir
    image = published_image("bench-image", {"rootimg.cpio.zst": b"\0"}, "0123456789abcdef")
    names = [f"cn{i:05d}" for i in range(1, n + 1)]
    Node.objects.bulk_create(
        [
            Node(
                name=name,
                sortkey=sort_key(name),
                mac=f"52:54:01:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
            )
            for i, name in enumerate(names, start=1)
        ],
        batch_size=2000,
    )
    return image.imagename


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    args = parser.parse_args()
    n = args.nodes

    import django

    django.setup()
    from _common import scratch_database

    from nodes import netboot
    from nodes.models import Node
    from snportal import audit
    from testsupport.processes import database_url_for_subprocess

    with scratch_database():
        with tempfile.TemporaryDirectory() as tmp:
            image = populate(n, Path(tmp) / "images")
            names = [f"cn{i:05d}" for i in range(1, n + 1)]
            actor = audit.Actor(None, "bench")
            service_times = []
            for target in ("boot", f"osimage={image}", "offline", f"osimage={image}"):
                start = time.monotonic()
                results = netboot.nodeset(names, target, actor=actor)
                service_times.append(time.monotonic() - start)
                assert all(r.ok for r in results.values())
            service = min(service_times[1:])
            env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}
            cli_times = []
            for target in ("boot", f"osimage={image}", "offline"):
                start = time.monotonic()
                done = subprocess.run(
                    [
                        sys.executable,
                        str(ROOT / "manage.py"),
                        "nodeset",
                        f"cn[00001-{n:05d}]",
                        target,
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                cli_times.append(time.monotonic() - start)
                if done.returncode != 0:
                    raise SystemExit(done.stderr[-2000:])
                assert done.stdout.count("\n") == n
            cli = min(cli_times)
            assert Node.objects.filter(currstate="offline").count() == n

    baseline = XCAT_SECONDS * n / XCAT_NODES
    print(f"nodes: {n}")
    print(f"nodeset service call (best of 3): {service:.3f} s")
    print(f"manage.py nodeset, fresh process (best of 3): {cli:.3f} s")
    print(f"xCAT baseline: {XCAT_SECONDS} s for {XCAT_NODES} nodes -> {baseline:.0f} s for {n}")
    print(
        json.dumps(
            {
                "benchmark": "nodeset",
                "value": round(cli, 3),
                "unit": "s",
                "baseline": round(baseline, 1),
                "ratio": round(baseline / cli, 1),
                "service_s": round(service, 3),
                "nodes": n,
            }
        )
    )


if __name__ == "__main__":
    main()
