"""Job bodies for bulk power and boot-device actions (rpower, rsetboot).

The same body runs in a django-q2 worker (web actions) and in the foreground (the CLI
verbs), so a result looks the same wherever it was asked for: per-node results on the
job, the power state cached on each node with its time, one timeline event per node and
one audit row for the whole action. Concurrency, deadlines and the dead-BMC sweep come
from :mod:`nodes.power.ipmi`, so unreachable BMCs cost one timeout, not one per node.
"""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from nodes import boot_tokens, noderange, services
from nodes.models import Node
from nodes.power import ipmi
from nodes.power.base import Result
from snportal import audit, events
from snportal.jobs import JobContext
from snportal.lib.secrets import DecryptionError

# What rpower answers → the power state the node is in afterwards (softoff is not waited
# for, so it tells nothing).
# Power verbs that start a boot: a node in a netboot state may then get a boot token
# (nodes.boot_tokens); the attempt opens before the BMC is asked, a fast node asks soon.
ARMING_VERBS = ("on", "boot", "reset")
_POWER_AFTER = {"on": "on", "off": "off", "on reset": "on", "off on": "on", "reset": "on"}


def rpower_job(ctx: JobContext) -> str:
    """rpower <nodes> <verb>: power state changes and reads."""
    return _run(ctx, "rpower")


def rsetboot_job(ctx: JobContext) -> str:
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


def _run(ctx: JobContext, command: str) -> str:
    verb = ctx.params["verb"]
    names: list[str] = ctx.params["nodes"]
    actor = audit.Actor(**ctx.params["actor"])
    ctx.check_cancel()
    ctx.progress(5, f"{command} {verb}: {len(names)} node(s)")
    targets, results, nodes = bmc_targets(names)
    drive = ipmi.rpower if command == "rpower" else ipmi.rsetboot
    if command == "rpower" and verb in ARMING_VERBS:
        boot_tokens.arm([t.name for t in targets])
    results.update(drive(targets, verb))
    now = timezone.now()

    ctx.set_results(
        {
            name: {"ok": True, "value": r.value} if r.ok else {"ok": False, "error": r.error}
            for name, r in ((n, results[n]) for n in names)
        }
    )
    ctx.log("\n".join(f"{n}: {_line(results[n])}" for n in names))
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

    failed = [n for n in names if not results[n].ok]
    summary = f"{command} {verb}: {len(names) - len(failed)} ok, {len(failed)} failed"
    audit.record(
        f"node.{command}",
        actor=actor,
        object_type="node",
        object_name=noderange.compress(names),
        after={"verb": verb, "nodes": len(names), "job": ctx.pk},
        outcome="failure" if failed else "success",
        message=summary + (f" ({noderange.compress(failed)})" if failed else ""),
    )
    return summary


def _line(r: Result) -> str:
    """xCAT's per-node words: ``on`` or ``Error: …``."""
    return r.value if r.ok else f"Error: {r.error}"
