"""Job bodies of the node verbs: rpower, rsetboot, rinstall/rnetboot.

The same body runs in a django-q2 worker (web actions) and in the foreground (the CLI
verbs), so a result looks the same wherever it was asked for. A body does the work and
returns each node's :class:`Result`; the job runner (:mod:`snportal.jobs`) stores them,
writes their ``node: value`` lines, the summary and the one closing audit row. The body
keeps what is the node's own: the power state cached with its time and one timeline event
per node. Concurrency, deadlines and the dead-BMC sweep come from :mod:`nodes.power.ipmi`,
so unreachable BMCs cost one timeout, not one per node.
"""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from nodes import boot_tokens, netboot, noderange, services
from nodes.models import Node
from nodes.power import ipmi
from nodes.power.base import Result
from snportal import events
from snportal.jobs import Closing, JobContext, closes_with
from snportal.lib.secrets import DecryptionError
from snportal.models import Job

# What rpower answers → the power state the node is in afterwards (softoff is not waited
# for, so it tells nothing).
# Power verbs that start a boot: a node in a netboot state may then get a boot token
# (nodes.boot_tokens); the attempt opens before the BMC is asked, a fast node asks soon.
ARMING_VERBS = ("on", "boot", "reset")
_POWER_AFTER = {"on": "on", "off": "off", "on reset": "on", "off on": "on", "reset": "on"}


def _closing(job: Job) -> Closing:
    """``node.rpower``/``node.rsetboot`` over the job's nodes: ``rpower on: 2 ok, 0 failed``."""
    verb, names = job.params["verb"], job.params["nodes"]
    return Closing(
        f"node.{job.kind}",
        "node",
        noderange.compress(names),
        after={"verb": verb, "nodes": len(names)},
        summary=f"{job.kind} {verb}: {{ok}} ok, {{failed}} failed",
    )


def _rinstall_closing(job: Job) -> Closing:
    """``node.rinstall`` over the job's nodes: ``rinstall: 2 powering on, 0 failed``."""
    names = job.params["nodes"]
    return Closing(
        "node.rinstall",
        "node",
        noderange.compress(names),
        after={"target": job.params.get("target") or "", "nodes": len(names)},
        summary="rinstall: {ok} powering on, {failed} failed",
    )


@closes_with(_closing)
def rpower_job(ctx: JobContext) -> dict[str, Result]:
    """rpower <nodes> <verb>: power state changes and reads."""
    return _run(ctx, "rpower")


@closes_with(_closing)
def rsetboot_job(ctx: JobContext) -> dict[str, Result]:
    """rsetboot <nodes> <verb>: next boot device changes and reads."""
    return _run(ctx, "rsetboot")


def bmc_targets(names: list[str]) -> tuple[list[ipmi.BmcTarget], dict[str, Result], list[Node]]:
    """BMC targets for the nodes that have one; an explained failure for the others."""
    nodes = {n.name: n for n in Node.objects.filter(name__in=names)}
    targets: list[ipmi.BmcTarget] = []
    failed: dict[str, Result] = {}
    for name in names:
        node = nodes.get(name)
        if node is None:
            failed[name] = Result(False, error="node no longer exists")
        elif not node.bmc:
            failed[name] = Result(
                False, error=f"no BMC address: set it with chdef -t node -o {name} bmc=HOST[:PORT]"
            )
        else:
            try:
                host, port = node.bmc_host_port
                targets.append(ipmi.BmcTarget(name, host, port, node.bmcusername, node.bmcpassword))
            except (DecryptionError, ValueError) as e:
                failed[name] = Result(False, error=str(e))
    return targets, failed, list(nodes.values())


def _run(ctx: JobContext, command: str) -> dict[str, Result]:
    verb = ctx.params["verb"]
    names: list[str] = ctx.params["nodes"]
    actor = ctx.actor
    ctx.check_cancel()
    ctx.progress(5, f"{command} {verb}: {len(names)} node(s)")
    targets, results, nodes = bmc_targets(names)
    drive = ipmi.rpower if command == "rpower" else ipmi.rsetboot
    if command == "rpower" and verb in ARMING_VERBS:
        boot_tokens.arm([t.name for t in targets])
    results.update(drive(targets, verb))
    now = timezone.now()
    if command == "rpower":
        by_state: dict[str, list[str]] = defaultdict(list)
        for name in names:
            state = _POWER_AFTER.get(results[name].value) if results[name].ok else None
            if state:
                by_state[state].append(name)
        for state, members in by_state.items():
            Node.objects.filter(name__in=members).update(power=state, powertime=now)
            for name in members:
                events.node_changed(name, power=state)

    by_message: dict[tuple[str, bool], list[Node]] = defaultdict(list)
    for node in nodes:
        r = results[node.name]
        by_message[(f"{command} {verb}: {_line(r)}", r.ok)].append(node)
    for (message, ok), members in by_message.items():
        data = {"command": command, "verb": verb, "ok": ok, "job": ctx.pk}
        services.add_events(
            members,
            "power" if command == "rpower" else "bootdev",
            message,
            data,
            user_id=actor.user_id,
        )
    return {n: results[n] for n in names}


@closes_with(_rinstall_closing)
def rinstall_job(ctx: JobContext) -> dict[str, Result]:
    """rinstall/rnetboot: nodeset, next boot from the network, power boot (on or reset)."""
    names: list[str] = ctx.params["nodes"]
    actor = ctx.actor
    target = ctx.params.get("target") or ""
    ctx.progress(5, f"nodeset {target or '(keep)'}")
    if target:
        results = netboot.nodeset(names, target, actor=actor)
    else:
        results = {n: Result(True, value="netboot") for n in names}
    ready = [n for n in names if results[n].ok]
    ctx.check_cancel()
    ctx.progress(30, "next boot device: network")
    bmcs, refused, _ = bmc_targets(ready)
    results.update(refused)
    boot = ipmi.rsetboot(bmcs, "net")
    ctx.check_cancel()
    powered = [t for t in bmcs if boot[t.name].ok]
    for t in bmcs:
        if not boot[t.name].ok:
            results[t.name] = Result(False, error=f"rsetboot net: {boot[t.name].error}")
    ctx.progress(60, "power boot")
    # Open the boot attempt before the power button: a fast node asks for its script soon.
    boot_tokens.arm([t.name for t in powered])
    power = ipmi.rpower(powered, "boot")
    now = timezone.now()
    started = [t.name for t in powered if power[t.name].ok]
    for t in powered:
        r = power[t.name]
        results[t.name] = (
            Result(True, value=f"{r.value}: powering-on")
            if r.ok
            else Result(False, error=f"rpower boot: {r.error}")
        )
    started_nodes = list(Node.objects.filter(name__in=started))
    for node in started_nodes:
        events.node_changed(node.name, status=Node.Status.POWERING_ON, prev=node.status)
    Node.objects.filter(name__in=started).update(
        status=Node.Status.POWERING_ON, statustime=now, statusdetail="", power="on", powertime=now
    )
    services.add_events(
        started_nodes, "status", "powering-on (rinstall)", {"job": ctx.pk}, user_id=actor.user_id
    )
    return {n: results[n] for n in names}


def _line(r: Result) -> str:
    """xCAT's per-node words: ``on`` or ``Error: …``."""
    return r.value if r.ok else f"Error: {r.error}"
