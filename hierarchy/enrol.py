"""Service-node enrolment, management-node side: arm, the one-time secret, enrol, revoke.

A service node's image carries no secret. Its credentials are handed out once per arming:
``nodeset`` of the service node (or ``snenrol --arm``) arms it; every iPXE script rendered
for it while armed carries a fresh ``snp.enrol=<secret>`` (only its sha256 is kept); the
agent on the booted service node posts that secret to ``/boot/enrol`` and receives its
environment (a per-node PostgreSQL role, SECRET_KEY, …); that consumes the arming, so a
second request — a replay, or anyone else who read the kernel command line — is refused
until an operator re-arms. Confluent's ``deployment.apiarmed=once`` and MAAS's bootstrap
token work the same way; xCAT's privileged-port callback (research/hierarchy.md §1.8) is
what this replaces.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

import snportal
from hierarchy import pgrole
from hierarchy.models import ServiceNode
from nodes import noderange, services
from nodes.models import Node
from snportal import audit, events
from snportal.defs import DefError
from snportal.models import AuditEvent

SERVICE_GROUP = "service"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Outcome:
    """What ``/boot/enrol`` answers: an HTTP status, a message, and the env when granted."""

    status: int
    message: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200


# --- Arming and revoking (operators) ---------------------------------------------------------


def servicenodes(names: Sequence[str]) -> list[ServiceNode]:
    """The ServiceNode rows of ``names`` (created on demand); DefError for a non-service node.

    A service node is a node in group ``service`` (xCAT's convention), so this refuses any
    other node instead of silently creating credentials for a compute node.
    """
    nodes = {n.name: n for n in Node.objects.filter(name__in=names, groups__name=SERVICE_GROUP)}
    missing = [name for name in names if name not in nodes]
    if missing:
        first = missing[0]
        raise DefError(
            f"{noderange.compress(missing)}: not a service node (a service node is in group "
            f"{SERVICE_GROUP}: chdef -t node -o {first} -p groups={SERVICE_GROUP})"
        )
    existing = {s.node_id: s for s in ServiceNode.objects.filter(node__in=nodes.values())}
    rows = []
    for name in names:
        node = nodes[name]
        sn = existing.get(node.pk) or ServiceNode.objects.get_or_create(node=node)[0]
        sn.node = node
        rows.append(sn)
    return rows


def arm(names: Sequence[str], *, actor: audit.Actor, reason: str = "snenrol --arm") -> list[str]:
    """Allow one enrolment of each of ``names`` (audited ``servicenode.arm``)."""
    rows = servicenodes(names)
    with transaction.atomic():
        ServiceNode.objects.filter(pk__in=[s.pk for s in rows]).update(
            enrol_armed=True, enrol_secret_hash=""
        )
        services.add_events([s.node for s in rows], "enrol", f"enrolment armed ({reason})")
        audit.record(
            "servicenode.arm",
            actor=actor,
            object_type="servicenode",
            object_name=noderange.compress([s.name for s in rows]),
            after={"armed": True, "by": reason},
        )
    return [s.name for s in rows]


def arm_on_nodeset(nodes: Sequence[Node], target: str, *, actor: audit.Actor) -> None:
    """The nodeset hook: netbooting a service node arms its next enrolment.

    One query for nodes that are not service nodes (the usual case), whatever their count.
    """
    if not target.startswith("netboot"):
        return
    names = list(
        Node.objects.filter(pk__in=[n.pk for n in nodes], groups__name=SERVICE_GROUP)
        .order_by("sortkey")
        .values_list("name", flat=True)
    )
    if names:
        arm(names, actor=actor, reason=f"nodeset {target}")


def revoke(names: Sequence[str], *, actor: audit.Actor) -> list[str]:
    """Drop each service node's database role and token; disarm (audited ``servicenode.revoke``).

    Its database sessions end at once; its agent's next query fails and it stops serving.
    """
    rows = servicenodes(names)
    now = timezone.now()
    with transaction.atomic():
        dropped = [s.name for s in rows if pgrole.drop(s.db_role or pgrole.role_name(s.name))]
        ServiceNode.objects.filter(pk__in=[s.pk for s in rows]).update(
            enrol_armed=False,
            enrol_secret_hash="",
            db_role="",
            api_token_hash="",
            revoked_at=now,
            state="revoked",
        )
        services.add_events([s.node for s in rows], "enrol", "credentials revoked")
        audit.record(
            "servicenode.revoke",
            actor=actor,
            object_type="servicenode",
            object_name=noderange.compress([s.name for s in rows]),
            after={"roles_dropped": dropped},
        )
    return [s.name for s in rows]


# --- The boot script's secret ----------------------------------------------------------------


def kernel_arg(node: Node) -> str:
    """`` snp.enrol=<secret>`` for an armed service node's script, else ``""``.

    Fresh per render (one UPDATE, which is also the armed check): only the newest script's
    secret is accepted, and the database never holds it in clear. A service node's own web
    never arms anything (its database role may not write enrolment fields): service nodes
    boot from the management node.
    """
    if getattr(settings, "ROLE", "management") == "service":
        return ""
    secret = secrets.token_urlsafe(32)
    armed = ServiceNode.objects.filter(node_id=node.pk, enrol_armed=True).update(
        enrol_secret_hash=sha256(secret)
    )
    return f" snp.enrol={secret}" if armed else ""


# --- Enrolment (the node-facing endpoint's logic) --------------------------------------------


def not_armed_message(sn: ServiceNode) -> str:
    image = sn.node.osimage.imagename if sn.node.osimage_id else "<imagename>"
    return f"enrolment of {sn.name} is not armed: run nodeset {sn.name} osimage={image} to re-arm"


def too_many_failures(name: str) -> bool:
    since = timezone.now() - timedelta(seconds=settings.SN_ENROL_WINDOW)
    refused = AuditEvent.objects.filter(
        verb="servicenode.enrol", object_name=name, time__gte=since, outcome="denied"
    ).count()
    return refused >= settings.SN_ENROL_FAILURE_LIMIT


def enrol(name: str, secret: str, version: str, *, address: str | None) -> Outcome:
    """Check and consume one armed enrolment; the service node's environment on success."""
    actor = audit.Actor(user_id=None, username=f"servicenode:{name}"[:150], ip=address)
    sn = ServiceNode.objects.select_related("node__osimage").filter(node__name=name).first()
    if sn is None:
        return Outcome(403, f"{name} is not an enrolled or armed service node")
    if too_many_failures(name):
        return Outcome(429, f"too many refused enrolments of {name}: wait and re-arm")
    if not sn.enrol_armed:
        return _refuse(sn, actor, 403, not_armed_message(sn))
    if not (sn.enrol_secret_hash and hmac.compare_digest(sn.enrol_secret_hash, sha256(secret))):
        return _refuse(sn, actor, 403, f"wrong or stale enrolment secret for {sn.name}")
    if version != snportal.__version__:
        return _refuse(
            sn,
            actor,
            409,
            f"version skew: service node {sn.name} runs snportal {version or '(none)'} but the "
            f"portal runs {snportal.__version__}; build and pack its image from this portal "
            f"(genimage, packimage), then nodeset {sn.name} and reboot it",
            state=f"refused: version skew (service node {version}, portal {snportal.__version__})",
        )
    if not sn.address:
        return _refuse(
            sn,
            actor,
            409,
            f"service node {sn.name} has no compute-network address: set its address "
            f"(e.g. 192.168.78.1/24) before it enrols",
        )
    host, _ = db_host_port()
    if not host or host.startswith("/"):
        return _refuse(
            sn,
            actor,
            409,
            "the portal's database is not reachable over TCP by name: set "
            "SNPORTAL_SN_DATABASE_HOST to the address service nodes reach PostgreSQL at",
        )
    role = pgrole.role_name(sn.name)
    password = pgrole.new_password()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # The conditional UPDATE is the claim: of two racing enrolments, one matches.
        won = ServiceNode.objects.filter(
            pk=sn.pk, enrol_armed=True, enrol_secret_hash=sn.enrol_secret_hash
        ).update(
            enrol_armed=False,
            enrol_secret_hash="",
            enrolled_at=timezone.now(),
            db_role=role,
            api_token_hash=sha256(token),
            revoked_at=None,
            version=version,
            state="enrolled",
        )
        if not won:
            return _refuse(sn, actor, 403, not_armed_message(sn))
        pgrole.ensure(role, password)
        services.add_events([sn.node], "enrol", "enrolled: credentials issued", {"ip": address})
        _audit_enrol(sn, actor, after={"role": role, "version": version})
        events.publish("servicenode", servicenode=sn.name, state="enrolled")
    return Outcome(200, "enrolled", environment(sn, role, password, token))


def _audit_enrol(sn: ServiceNode, actor: audit.Actor, **fields: Any) -> None:
    """The audit row of one enrolment, issued or refused."""
    audit.record(
        "servicenode.enrol",
        actor=actor,
        obj=sn,
        object_type="servicenode",
        object_name=sn.name,
        **fields,
    )


def _refuse(
    sn: ServiceNode, actor: audit.Actor, status: int, message: str, *, state: str = ""
) -> Outcome:
    """Record a refusal (audit, node event, the row's state) and say why."""
    with transaction.atomic():
        ServiceNode.objects.filter(pk=sn.pk).update(state=(state or f"refused: {message}")[:200])
        services.add_events([sn.node], "rejected", f"enrolment refused: {message}")
        _audit_enrol(sn, actor, outcome="denied", message=message)
    return Outcome(status, message)


def database_url(role: str, password: str) -> str:
    """The DATABASE_URL a service node uses: its role, the host it reaches PostgreSQL at."""
    s = connection.settings_dict
    host, port = db_host_port()
    return f"postgresql://{quote(role)}:{quote(password, safe='')}@{host}:{port}/{quote(s['NAME'])}"


def db_host_port() -> tuple[str, str]:
    """``SNPORTAL_SN_DATABASE_HOST`` (``host``, ``host:port``, ``[v6]:port``) or the portal's."""
    s = connection.settings_dict
    port = str(s.get("PORT") or 5432)
    host = settings.SN_DATABASE_HOST or s.get("HOST") or ""
    if host.startswith("["):
        addr, _, rest = host[1:].partition("]")
        return f"[{addr}]", rest.lstrip(":") or port
    if host.count(":") == 1:
        name, _, given = host.partition(":")
        return name, given or port
    if ":" in host:
        return f"[{host}]", port
    return host, port


def environment(sn: ServiceNode, role: str, password: str, token: str) -> dict[str, str]:
    """Everything the service node's processes need, and nothing that the image carries."""
    ip = str(ipaddress.ip_interface(sn.address).ip)
    env = {
        "DATABASE_URL": database_url(role, password),
        "SECRET_KEY": settings.SECRET_KEY,
        "SNPORTAL_SECRETS_KEY": settings.SECRETS_KEY,
        "DEBUG": "0",
        "ALLOWED_HOSTS": f"{ip},127.0.0.1,localhost",
        "SNPORTAL_ROLE": "service",
        "SNPORTAL_SERVICE_NODE": sn.name,
        "SNPORTAL_CLUSTER_NAME": sn.name,
        "SNPORTAL_PORTAL_VERSION": snportal.__version__,
        # The portal as the service node reaches it; nodes reach it at BOOT_URL too.
        "SNPORTAL_MN_URL": settings.MN_URL or settings.BOOT_URL.rstrip("/"),
        "SNPORTAL_SN_API_TOKEN": token,
        "SNPORTAL_BOOT_URL": f"http://{ip}",
        "SNPORTAL_SN_ADDRESS": sn.address,
        "SNPORTAL_SN_COMPUTE_MAC": sn.compute_mac,
        "SNPORTAL_SN_DHCP_RANGE": sn.dhcp_range,
        "SNPORTAL_SN_HEARTBEAT_SECONDS": str(settings.SN_HEARTBEAT_SECONDS),
    }
    old_keys = settings.SECRETS_KEYS[1:]
    if old_keys:
        env["SNPORTAL_SECRETS_KEYS_OLD"] = ",".join(old_keys)
    return env
