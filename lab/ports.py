"""Free port ranges on 127.0.0.1 for labs that tests, benchmarks and ``runlab`` start."""

from __future__ import annotations

import random
import socket


def free_base_port(n: int, *, tcp: bool = False, low: int = 10000, high: int = 32000) -> int:
    """A base port with ``n`` free UDP (or TCP) ports on 127.0.0.1 after it.

    Chosen below the kernel's ephemeral range, so that outgoing connections of the same
    machine do not take a port between the check and its use.
    """
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    for _ in range(50):
        base = random.randrange(low, high - n)
        socks = []
        try:
            for port in range(base, base + n):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} free {'TCP' if tcp else 'UDP'} ports in a row on 127.0.0.1")
