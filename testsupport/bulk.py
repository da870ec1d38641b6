"""Many nodes at once, straight into the table, for tests and benchmarks that only read them.

The services validate and audit every node one by one; a scale test of a reader (the
service-node converge, list pages) needs 10,000 rows in a second instead.
"""

from __future__ import annotations

from collections.abc import Callable


def bulk_nodes(
    count: int,
    *,
    start: int = 0,
    prefix: str = "n",
    mac_prefix: str = "02:00:00",
    with_ip: bool = False,
    servicenode: str | Callable[[int], str] = "",
) -> None:
    """``count`` nodes ``<prefix>00000…`` with unique MACs (and IPs); ``servicenode`` may
    depend on the node's number."""
    from nodes.models import Node, sort_key

    def node(i: int) -> Node:
        name = f"{prefix}{i:05d}"
        return Node(
            name=name,
            sortkey=sort_key(name),
            mac=f"{mac_prefix}:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
            ip=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" if with_ip else None,
            servicenode=servicenode(i) if callable(servicenode) else servicenode,
        )

    Node.objects.bulk_create([node(i) for i in range(start, start + count)], batch_size=2000)
