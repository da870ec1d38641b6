"""The xCAT formats load and work where Django cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Importing anything from django raises ImportError once sys.modules maps it to None.
SCRIPT = """
import sys
sys.modules["django"] = None
from xcat import noderange, stanza
names = noderange.expand("n[1-3],-n2", nodes=["n1", "n2", "n3"], groups={})
assert names == ["n1", "n3"], names
text = stanza.format([stanza.Stanza("n1", "node", {"groups": "all"})])
assert stanza.parse(text)[0].attrs == {"groups": "all"}
loaded = [m for m, mod in sys.modules.items() if mod is not None]
assert not [m for m in loaded if m.split(".")[0] in ("django", "snportal", "nodes")], loaded
print("pure")
"""


def test_xcat_formats_import_and_run_without_django() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pure"
