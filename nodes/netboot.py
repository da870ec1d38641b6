"""Netboot: nodeset, rinstall, the boot service's decisions and status reports.

The web views under ``/boot/`` (node-facing, no login) and the verbs ``nodeset``,
``rinstall``/``rnetboot`` all come here. Bulk changes are a few queries for any number of
nodes (one UPDATE per target state, one INSERT of events), because xCAT's nodeset of 2,500
nodes took minutes with one round trip per node.

Boot states (``currstate``, xCAT's words): ``netboot <imagename>``, ``boot`` (local disk),
``offline``. Statuses: ``powering-on → netbooting → booting → booted``, or ``failed`` with
a reason in ``statusdetail``. Every step is a node event.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from images.models import ImageVersion, OsImage
from nodes import boot_limits, boot_tokens, extensions, ipxe, noderange, services
from nodes.models import Node, NodeEvent, UnknownMac
from nodes.power.base import Result
from snportal import audit, events
from snportal.defs import DefError
from snportal.models import Job

# What a booting node may report about itself (powering-on is the portal's own word).
REPORTED = (Node.Status.NETBOOTING, Node.Status.BOOTING, Node.Status.BOOTED, Node.Status.FAILED)
NODESET_TARGETS = ("boot", "offline", "stat", "osimage=<imagename>")


@dataclass(frozen=True)
class Target:
    """What nodeset was asked: a boot state and, for netboot, the image."""

    currstate: str
    image: OsImage | None = None


def parse_target(text: str) -> Target | None:
    """``osimage=NAME`` | ``boot`` | ``offline``; None for ``stat``. Raises DefError."""
    word = text.strip()
    if word == "stat":
        return None
    if word in ("boot", "offline"):
        return Target(word)
    if word.startswith("osimage="):
        name = word.split("=", 1)[1]
        image = OsImage.objects.select_related("current_version").filter(imagename=name).first()
        if image is None:
            raise DefError(f"nodeset: no osimage named {name!r} (lsdef -t osimage lists them)")
        return Target(f"netboot {name}", image)
    raise DefError(f"nodeset: unknown boot state {word!r}; use {', '.join(NODESET_TARGETS)}")


def nodeset(names: Sequence[str], target_text: str, *, actor: audit.Actor) -> dict[str, Result]:
    """Set the next network boot of ``names``; per-node results, refusals with reasons."""
    target = parse_target(target_text)
    nodes = list(Node.objects.filter(name__in=names).only("id", "name", "mac", "currstate"))
    by_name = {n.name: n for n in nodes}
    results: dict[str, Result] = {}
    if target is None:
        for name in names:
            node = by_name.get(name)
            results[name] = (
                Result(True, value=node.currstate or "boot")
                if node
                else Result(False, error="no such node")
            )
        return results
    image_error = ""
    if target.image is not None and target.image.current_version_id is None:
        image_error = (
            f"osimage {target.image.imagename} has no packed version: run packimage "
            f"{target.image.imagename} first"
        )
    ok: list[Node] = []
    for name in names:
        node = by_name.get(name)
        if node is None:
            results[name] = Result(False, error="no such node")
        elif image_error:
            results[name] = Result(False, error=image_error)
        elif target.image is not None and not node.mac:
            results[name] = Result(
                False, error=f"no MAC address: set it with chdef -t node -o {name} mac=…"
            )
        else:
            results[name] = Result(True, value=target.currstate)
            ok.append(node)
    with transaction.atomic():
        # A new boot state ends the current boot attempt; netboot opens the next one.
        fields: dict[str, object] = {
            "currstate": target.currstate,
            "boot_token": "",
            "boot_tokens": [],
            "boot_armed_at": timezone.now() if target.image is not None else None,
        }
        if target.image is not None:
            fields["osimage"] = target.image
        Node.objects.filter(pk__in=[n.pk for n in ok]).update(**fields)
        services.add_events(
            ok,
            "nodeset",
            f"nodeset {target.currstate}",
            {"currstate": target.currstate},
            user_id=actor.user_id,
        )
        # Netbooting a service node arms its one enrolment (hierarchy.enrol's hook).
        extensions.hooks.nodeset_done(ok, target.currstate, actor=actor)
        failed = [n for n in names if not results[n].ok]
        audit.record(
            "node.nodeset",
            actor=actor,
            object_type="node",
            object_name=noderange.compress(names),
            after={"currstate": target.currstate, "nodes": len(names)},
            outcome="failure" if failed else "success",
            message=(
                f"{len(ok)} set, {len(failed)} refused"
                + (f": {results[failed[0]].error}" if failed else "")
            ),
        )
    return results


# --- The boot service ----------------------------------------------------------------------


def boot_base(node: Node) -> str:
    """The portal as this node reaches it: its xcatmaster, else the BOOT_URL setting.

    A service node answers with its own BOOT_URL: the node asked it, so it reaches it
    (also when it is the backup that took over from the node's primary).
    """
    if settings.ROLE == "service":
        return settings.BOOT_URL
    if node.xcatmaster or node.servicenode:
        # Explicit, or derived from the primary service node's address (docs/hierarchy.md).
        master = extensions.hooks.xcatmasters([node], portal="")[node.name]
        if master:
            return master if "://" in master else f"http://{master}"
    return settings.BOOT_URL


def script_for(mac_text: str, *, uuid: str = "", serial: str = "", address: str | None) -> str:
    """The iPXE script for whoever has this MAC (records unknown MACs).

    Raises :class:`boot_limits.Throttled` past the per-address or per-node request limit,
    before anything is written.
    """
    address = _valid_address(address)
    boot_limits.check({f"ipxe:addr:{address}": settings.BOOT_RATE_PER_ADDRESS})
    mac = ipxe.normalize_mac(mac_text)
    if mac is None:
        return "#!ipxe\necho snportal: the boot request carried no valid MAC address\nexit\n"
    node = Node.objects.select_related("osimage__current_version").filter(mac=mac).first()
    if node is None:
        _record_unknown(mac, uuid=uuid, serial=serial, address=address)
        return ipxe.unknown_script(mac)
    boot_limits.check({f"ipxe:node:{node.pk}": settings.BOOT_RATE_PER_NODE})
    state = node.currstate or "boot"
    if state == "offline":
        services.add_events([node], "boot", "script served: offline (halt)")
        return ipxe.offline_script(node.name)
    if not state.startswith("netboot"):
        services.add_events([node], "boot", "script served: local boot")
        return ipxe.local_boot_script(node.name)
    image = node.osimage
    version = image.current_version if image else None
    if version is None:
        reason = "netboot requested but its osimage has no packed version (run packimage)"
        _fail(node, reason)
        return f"#!ipxe\necho snportal: {node.name}: {reason}\nexit\n"
    now = timezone.now()
    try:
        token, issued = boot_tokens.issue(node, now=now)
    except boot_tokens.NotIssued as refused:
        services.add_events([node], "rejected", f"script refused: {refused}", {"address": address})
        return ipxe.refused_script(node.name, str(refused))
    Node.objects.filter(pk=node.pk).update(
        boot_version=version,
        status=Node.Status.POWERING_ON,
        statustime=now,
        statusdetail="",
    )
    events.node_changed(node.name, status=Node.Status.POWERING_ON, prev=node.status)
    services.add_events(
        [node],
        "boot",
        f"script served: netboot {image.imagename} version {version.version} "
        f"(token {issued} of at most {settings.BOOT_TOKEN_ISSUES}, from {address or 'unknown'})",
        {
            "image": image.imagename,
            "version": version.version,
            "address": address,
            "token_issue": issued,
        },
    )
    return netboot_script(node, image, version, token)


def netboot_script(node: Node, image: OsImage, version: ImageVersion, token: str) -> str:
    """The netboot script of one boot: kernel and initrd of ``version``, with ``token``."""
    base = boot_base(node)
    query = f"?node={quote(node.name)}&t={token}"
    cmdline = ipxe.kernel_cmdline(
        node=node.name,
        status_url=f"{base.rstrip('/')}/boot/status",
        token=token,
        root_url=ipxe.artifact_url(base, image.imagename, version.version, version.root) + query,
        sha256=version.files[version.root]["sha256"],
        rootfmt=version.rootfmt,
        mac=node.mac,
        serialport=node.serialport,
        serialspeed=node.serialspeed,
        addkcmdline=image.addkcmdline,
    )
    cmdline += extensions.hooks.kernel_args(node)  # an armed service node's one-time secret
    return ipxe.netboot_script(
        node=node.name,
        image=image.imagename,
        kernel_url=ipxe.artifact_url(base, image.imagename, version.version, "kernel") + query,
        initrd_url=ipxe.artifact_url(base, image.imagename, version.version, "initrd") + query,
        cmdline=cmdline,
    )


def _valid_address(address: str | None) -> str | None:
    """The client address if it is one (it may come from X-Forwarded-For), else None."""
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _record_unknown(mac: str, *, uuid: str, serial: str, address: str | None) -> None:
    """Count a request of a known unknown MAC; record a new one within the per-minute cap."""
    uuid, serial = _CONTROL.sub("", uuid)[:64], _CONTROL.sub("", serial)[:64]
    updated = UnknownMac.objects.filter(mac=mac).update(
        requests=Least(F("requests") + 1, 2**31 - 1),
        last_seen=timezone.now(),
        uuid=uuid,
        serial=serial,
        address=address,
    )
    if updated:
        return
    # A flood of made-up MACs must not grow the table without bound: a real new node that
    # is over the cap reboots a minute later (unknown_script) and is recorded then.
    if boot_limits.hit("unknown:new", settings.BOOT_UNKNOWN_MACS_PER_MINUTE):
        UnknownMac.objects.get_or_create(
            mac=mac, defaults={"uuid": uuid, "serial": serial, "address": address}
        )


def artifact_path(
    image: str, version: str, filename: str, node_name: str, token: str
) -> tuple[Path, str]:
    """The file a booting node may download, and its sha256; PermissionError otherwise.

    Only a node whose current boot was given this version, presenting that boot's token,
    gets its files: an image can carry secrets (a service node's credentials).
    """
    node = Node.objects.filter(name=node_name).select_related("boot_version__image").first()
    if node is None or not boot_tokens.valid_for_artifacts(node, token, timezone.now()):
        raise PermissionError("unknown node, or a boot token that is not (or no longer) valid")
    v = node.boot_version
    if v is None or v.image.imagename != image or v.version != version:
        raise PermissionError("this boot was not given that image version")
    if filename not in v.files:
        raise FileNotFoundError(filename)
    stage = {"kernel": "kernel", "initrd": "initrd"}.get(filename, "root image")
    services.add_events([node], "boot", f"{stage} requested", {"file": filename})
    return _artifact_file(v, filename), v.files[filename]["sha256"]


def _artifact_file(version: ImageVersion, filename: str) -> Path:
    """Where the bytes come from: the image store, or on a service node its local cache
    (filled once from the management node; raises ``extensions.ArtifactUnavailable``)."""
    if settings.ROLE == "service":
        return extensions.hooks.cached_artifact(version.pk, filename)
    return version.path / filename


def accept_report(
    node_name: str, token: str, status: str, reason: str, *, address: str | None = None
) -> bool:
    """A status report from a booting node; False (and an event) for a wrong token.

    Raises :class:`boot_limits.Throttled` past the per-address or per-node limit, before
    anything is written, so a flood cannot fill a node's timeline.
    """
    address = _valid_address(address)
    boot_limits.check({f"status:addr:{address}": settings.BOOT_RATE_PER_ADDRESS})
    node = Node.objects.filter(name=node_name).first()
    if node is None:
        return False
    boot_limits.check({f"status:node:{node.pk}": settings.BOOT_RATE_PER_NODE})
    now = timezone.now()
    verdict = boot_tokens.report_verdict(node, token, status, now)
    if verdict == "repeat":  # the image retrying a report that already arrived
        return True
    if status not in REPORTED or verdict != "accept":
        services.add_events(
            [node],
            "rejected",
            f"status report refused: {status[:40]!r} with a wrong, stale or expired token",
            {"address": address},
        )
        return False
    detail = reason[:500] if status == Node.Status.FAILED else ""
    updated = Node.objects.filter(pk=node.pk, status=node.status).update(
        status=status, statustime=now, statusdetail=detail, **boot_tokens.bind(node, token)
    )
    if not updated:  # another report changed the node meanwhile; this one is stale
        return False
    events.node_changed(node_name, status=status, prev=node.status, detail=detail)
    message = f"{status}: {detail}" if detail else status
    services.add_events([node], "status", message, {"reported": True})
    return True


def _fail(node: Node, reason: str) -> None:
    Node.objects.filter(pk=node.pk).update(
        status=Node.Status.FAILED, statustime=timezone.now(), statusdetail=reason[:500]
    )
    events.node_changed(node.name, status=Node.Status.FAILED, prev=node.status, detail=reason)
    services.add_events([node], "status", f"failed: {reason}")


def mark_stuck(now: datetime | None = None) -> list[str]:
    """Mark failed the nodes that stayed too long in a boot state, naming the last stage."""
    now = now or timezone.now()
    stuck: dict[str, list[int]] = defaultdict(list)
    for status, seconds in settings.BOOT_TIMEOUTS.items():
        for pk in Node.objects.filter(
            status=status, statustime__lt=now - timedelta(seconds=seconds)
        ).values_list("pk", flat=True):
            stuck[status].append(pk)
    names: list[str] = []
    for status, pks in stuck.items():
        last = dict(
            NodeEvent.objects.filter(node_id__in=pks, kind__in=("boot", "status"))
            .order_by("node_id", "-time", "-id")
            .distinct("node_id")
            .values_list("node_id", "message")
        )
        for pk in pks:
            seconds = settings.BOOT_TIMEOUTS[status]
            reason = (
                f"no progress for {seconds} s while {status}; last stage: "
                f"{last.get(pk, 'none recorded')}"
            )
            if Node.objects.filter(pk=pk, status=status).update(
                status=Node.Status.FAILED, statustime=now, statusdetail=reason[:500]
            ):
                node = Node.objects.get(pk=pk)
                services.add_events([node], "status", f"failed: {reason}")
                events.node_changed(
                    node.name, status=Node.Status.FAILED, prev=status, detail=reason
                )
                names.append(node.name)
    return names


def mark_stuck_task() -> str:
    """django-q2 schedule body (every minute)."""
    names = mark_stuck()
    return f"{len(names)} node(s) marked failed" + (f": {', '.join(names[:20])}" if names else "")


def start_rinstall(
    names: Sequence[str],
    target: str,
    *,
    actor: audit.Actor,
    user: Any = None,
    foreground: bool = False,
) -> Job:
    """rinstall as a job (body :func:`nodes.tasks.rinstall_job`), after checking the target
    so errors come at once: queued for the workers (web, its request audited), or run here
    (``foreground``, the CLI, which only checks the words and lets nodeset refuse per node).
    The requester is ``actor`` (``user`` is the same person, kept for the callers' shape).
    """
    from snportal import jobs

    if not names:
        raise DefError("rinstall: no nodes selected")
    if target:
        parsed = parse_target(target)
        if not foreground and (parsed is None or parsed.image is None):
            raise DefError("rinstall: give osimage=<imagename>")
        if not foreground and parsed.image.current_version_id is None:
            raise DefError(
                f"osimage {parsed.image.imagename} has no packed version: run packimage "
                f"{parsed.image.imagename} first"
            )
    return jobs.submit(
        "rinstall",
        "nodes.tasks.rinstall_job",
        names,
        {"target": target},
        actor,
        foreground,
        label=f"{noderange.compress(names)} {target}".strip(),
        request="node.rinstall.request",
    )


def __getattr__(name: str) -> Any:
    """``nodes.netboot.rinstall_job``, the body's old address (rows queued before it moved
    to :mod:`nodes.tasks`), still names it."""
    if name == "rinstall_job":
        from nodes.tasks import rinstall_job

        return rinstall_job
    raise AttributeError(name)
