"""Service nodes as objects: look one up (creating its row on demand), list them.

A service node is a node in group ``service``; its :class:`~hierarchy.models.ServiceNode`
row (address, heartbeat, enrolment) exists once somebody or something needs it, so that
``mkdef -t node -o sn01 groups=service`` alone makes a service node, as in xCAT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from hierarchy.models import ServiceNode
from hierarchy.routing import SERVICE_GROUP, mn_cluster, split_list
from nodes import noderange
from nodes.models import Node
from snportal import audit, events, jobs
from snportal.defs import DefError
from snportal.models import AuditEvent, Job


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


# --- snmove -------------------------------------------------------------------------------


@dataclass
class MoveReport:
    """What snmove did: nodes moved, queued job parts sent to their new cluster."""

    moved: list[str] = field(default_factory=list)
    requeued: dict[int, list[str]] = field(default_factory=dict)  # job → new part keys


def snmove(names: Sequence[str], destination: str, *, actor: audit.Actor) -> MoveReport:
    """Make ``destination`` the primary service node of ``names`` (xCAT's snmove).

    The old list stays behind it as backups (``sn01,sn02`` moved to sn02 → ``sn02,sn01``).
    Work still queued for the nodes on their old service node's cluster is planned again
    (its django-q2 tasks deleted, new parts queued after commit); the agents re-render
    DHCP and the console servers follow on the ``servicenode`` event. Audited per node.
    """
    from django_q.models import OrmQ
    from django_q.signing import BadSignature, SignedPackage

    dest = get_servicenode(destination)
    nodes = list(Node.objects.filter(name__in=names))
    missing = sorted(set(names) - {n.name for n in nodes}, key=noderange.natural_key)
    if missing:
        raise DefError(f"snmove: no such node(s): {noderange.compress(missing)}")
    if any(n.name == dest.name for n in nodes):
        raise DefError(f"snmove: {dest.name} cannot be its own service node; leave it out")
    report = MoveReport()
    old_sns: set[str] = set()
    with transaction.atomic():
        rows = []
        for node in nodes:
            chain = split_list(node.servicenode)
            new = ",".join([dest.name, *(sn for sn in chain if sn != dest.name)])
            if new == node.servicenode:
                continue
            old_sns.update(chain)
            rows.append(
                AuditEvent(
                    user_id=actor.user_id,
                    username=actor.username,
                    ip=actor.ip,
                    user_agent=actor.user_agent[:300],
                    request_id=actor.request_id,
                    verb="node.snmove",
                    object_type="node",
                    object_id=str(node.pk),
                    object_name=node.name,
                    before={"servicenode": node.servicenode},
                    after={"servicenode": new},
                )
            )
            node.servicenode = new
            report.moved.append(node.name)
        Node.objects.bulk_update(
            [n for n in nodes if n.name in set(report.moved)], ["servicenode"], batch_size=2000
        )
        AuditEvent.objects.bulk_create(rows, batch_size=2000)
        moved = set(report.moved)
        queued_parts: dict[int, list[str]] = {}
        stale_tasks: list[int] = []
        tasks = (
            OrmQ.objects.select_for_update(skip_locked=True)
            .filter(key__in=old_sns | {mn_cluster()}, lock__lte=timezone.now())
            .order_by("id")
        )
        for task in tasks:
            try:
                package = SignedPackage.loads(task.payload)
            except BadSignature:
                continue
            if package.get("func") != "snportal.jobs.run_part":
                continue
            job_pk, part = package["args"][:2]
            job = Job.objects.filter(pk=job_pk).values_list("parts", flat=True).first() or {}
            if moved & set(job.get(part, {}).get("nodes", [])):
                queued_parts.setdefault(job_pk, []).append(part)
                stale_tasks.append(task.pk)
        OrmQ.objects.filter(pk__in=stale_tasks).delete()
        for job_pk, parts in queued_parts.items():
            added = jobs.reroute_queued(job_pk, parts)
            report.requeued[job_pk] = added
            for part in added:
                transaction.on_commit(lambda j=job_pk, p=part: jobs.submit_part(j, p))
        if report.moved:
            audit.record(
                "servicenode.snmove",
                actor=actor,
                obj=dest,
                after={
                    "nodes": noderange.compress(report.moved),
                    "count": len(report.moved),
                    "requeued_jobs": sorted(report.requeued),
                },
                message=f"{len(report.moved)} node(s) now served by {dest.name}",
            )
            events.publish(
                "servicenode",
                reason="snmove",
                names=sorted(old_sns | {dest.name}),
                nodes=noderange.compress(report.moved),
            )
            for name in report.moved[:500]:  # open node pages refresh; more: one event is enough
                events.node_changed(name, servicenode=dest.name)
    return report
