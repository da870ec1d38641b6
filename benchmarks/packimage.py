"""packimage benchmark: one Debian minbase tree packed with every method.

Builds the tree once with mmdebstrap (cached under var/bench/; delete it to re-measure
genimage), then packs it with cpio+zstd -T0 (the default), cpio+gzip (xCAT's default,
the baseline), cpio+pigz, cpio+xz and squashfs+zstd. The last line is one JSON object.

    .venv/bin/python benchmarks/packimage.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from images.builders.debian import build_rootfs
from images.pack import pack_image
from testsupport.builds import build_spec

BENCH = Path(__file__).resolve().parent.parent / "var" / "bench"
TREE = BENCH / "minbase" / "rootimg"
# The exlist is the "no docs" one netboot.md measured; empty would pack the docs too.
EXLIST = "./usr/share/doc/*\n+./usr/share/doc/*/copyright\n./usr/share/man*\n./usr/share/locale/*\n"
# Best of several runs: the machine is shared, and a neighbour's burst should not
# decide the figure. xz is slow enough that one run is representative.
REPEATS = {"xz": 1}
DEFAULT_REPEATS = 3
METHODS = [
    ("cpio", "zstd"),
    ("cpio", "gzip"),
    ("cpio", "pigz"),
    ("cpio", "xz"),
    ("squashfs", "zstd"),
]


def tree_bytes(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def ensure_tree() -> float | None:
    """Build the minbase tree unless cached; return genimage seconds when it ran."""
    if (TREE / "usr/bin").is_dir():
        return None
    shutil.rmtree(TREE.parent, ignore_errors=True)
    TREE.parent.mkdir(parents=True)
    spec = build_spec("debian12", "bench", imagename="bench-minbase", exlist=EXLIST)
    start = time.monotonic()
    build_rootfs(spec, TREE, log=lambda line: None)
    return time.monotonic() - start


def main() -> None:
    genimage = ensure_tree()
    print(f"genimage (mmdebstrap minbase): {'cached' if genimage is None else f'{genimage:.1f} s'}")
    print(f"tree: {tree_bytes(TREE) / 1e6:.1f} MB")
    results = {}
    with tempfile.TemporaryDirectory(dir=BENCH) as tmp:
        boot = Path(tmp) / "boot"
        boot.write_bytes(b"placeholder kernel/initrd")
        for method, compression in METHODS:
            runs = []
            for n in range(REPEATS.get(compression, DEFAULT_REPEATS)):
                start = time.monotonic()
                version = pack_image(
                    TREE, Path(tmp) / f"{method}-{compression}-{n}", kernel=boot, initrd=boot,
                    exlist=EXLIST, method=method, compression=compression,
                )  # fmt: skip
                runs.append(time.monotonic() - start)
            seconds = min(runs)
            size = version.manifest["files"][version.manifest["root"]]["size"]
            results[f"{method}+{compression}"] = {"seconds": round(seconds, 2), "bytes": size}
            print(f"{method:8} {compression:5} {seconds:6.2f} s  {size / 1e6:7.1f} MB")
    value = results["cpio+zstd"]["seconds"]
    baseline = results["cpio+gzip"]["seconds"]
    summary = {
        "benchmark": "packimage",
        "value": value,
        "unit": "s",
        "baseline": baseline,
        "ratio": round(baseline / value, 2),
        "default_bytes": results["cpio+zstd"]["bytes"],
        "baseline_bytes": results["cpio+gzip"]["bytes"],
        "genimage_seconds": None if genimage is None else round(genimage, 1),
        "methods": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
