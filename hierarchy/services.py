"""Service nodes as objects: look one up (creating its row on demand), list them.

A service node is a node in group ``service``; its :class:`~hierarchy.models.ServiceNode`
row (address, heartbeat, enrolment) exists once somebody or something needs it, so that
``mkdef -t node -o sn01 groups=service`` alone makes a service node, as in xCAT.
"""

from __future__ import annotations

from django.db.models import Count, Q

from hierarchy.models import ServiceNode
from hierarchy.routing import SERVICE_GROUP
from nodes.models import Node
from snportal.defs import DefError


def is_service_node(node: Node) -> bool:
    return node.nodegroup_set.filter(group__name=SERVICE_GROUP).exists()


def service_node_names() -> list[str]:
    """Names of the nodes in group ``service``, natural order (one query)."""
    return list(
        Node.objects.filter(nodegroup__group__name=SERVICE_GROUP)
        .order_by("sortkey")
        .values_list("name", flat=True)
    )


def get_servicenode(name: str) -> ServiceNode:
    """The ServiceNode row of node ``name``, created if missing; DefError if it is not one."""
    node = Node.objects.filter(name=name).first()
    if node is None:
        raise DefError(
            f"no node named {name!r}: define it first (mkdef -t node -o {name} groups=service)"
        )
    if not is_service_node(node):
        raise DefError(
            f"{name} is not a service node: add it to group service "
            f"(chdef -t node -o {name} -p groups=service)"
        )
    sn, _ = ServiceNode.objects.select_related("node").get_or_create(node=node)
    return sn


def node_counts() -> dict[str, dict[str, int]]:
    """Per service node: how many nodes name it as primary and as any (backup included).

    One query: ``servicenode`` is a comma list, so primary means "equal to the name or
    starting with it and a comma", any means one of the list's items.
    """
    names = service_node_names()
    if not names:
        return {}
    aggregates = {}
    for i, name in enumerate(names):
        primary = Q(servicenode=name) | Q(servicenode__startswith=f"{name},")
        anywhere = (
            primary | Q(servicenode__endswith=f",{name}") | Q(servicenode__contains=f",{name},")
        )
        aggregates[f"p{i}"] = Count("pk", filter=primary)
        aggregates[f"a{i}"] = Count("pk", filter=anywhere)
    counts = Node.objects.exclude(servicenode="").aggregate(**aggregates)
    return {
        name: {"primary": counts[f"p{i}"], "any": counts[f"a{i}"]} for i, name in enumerate(names)
    }
