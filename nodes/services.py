"""What the node pages and the CLI verbs both do: define, change, delete, resolve, power.

Views and management commands stay thin and call these functions, so that ``chdef`` and
the bulk-edit page validate, write and audit a change the same way. Writes are set-based
(one query per kind of row, not per node) because a 10,000-node ``mkdef -z`` goes through
the very same path as a one-node form, and all or nothing: every problem is collected
first and nothing is written if there is one.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from images.models import OsImage
from nodes import attributes, extensions, noderange
from nodes.attributes import ATTRS, READ_ONLY, AttributeProblem
from nodes.models import Group, Node, NodeEvent, NodeGroup, sort_key
from nodes.verbs import BOOTDEV_VERBS, POWER_ALIASES, POWER_VERBS
from snportal import audit, jobs
from snportal.defs import ApplyReport, DefError
from snportal.errors import Problem, ValidationProblems
from snportal.lib import secrets
from snportal.models import AuditEvent, Job

CREATE, REPLACE, UPDATE, MERGE = "create", "replace", "update", "merge"
# What a bmcpassword of secrets.MASK parses to: "keep the stored password".
KEEP_SECRET: Any = object()
_MODES = (CREATE, REPLACE, UPDATE, MERGE)
_BATCH = 2000


class NodeDataError(DefError, ValidationProblems):
    """Definitions refused; ``problems`` lists every reason (nothing was written)."""


def with_groups(qs: QuerySet[Node]) -> QuerySet[Node]:
    """Nodes with their memberships prefetched in one query (see Node.group_names)."""
    return qs.prefetch_related(
        Prefetch("nodegroup_set", queryset=NodeGroup.objects.select_related("group"))
    )


# --- reading ----------------------------------------------------------------------------


def node_attrs(node: Node, *, secret: str = "mask", groups: Sequence[str] | None = None) -> dict:
    """A node's xCAT attributes as text (``""`` when unset).

    ``groups`` are as given, ``all`` in its place (xCAT prints ``groups=all,aix`` back).
    ``secret`` decides what ``bmcpassword`` holds: ``mask`` stars (pages, lsdef), ``reveal``
    the clear text (lsdef --show-secrets, audited by the caller), ``token`` the ciphertext,
    which only serves to notice a change and is masked again by the audit trail.
    """
    if secret == "reveal":
        password = node.bmcpassword
    elif secret == "token":
        password = node.bmcpassword_encrypted
    else:
        password = secrets.mask(node.bmcpassword_encrypted)
    return {
        "groups": ",".join(node.groups_as_given() if groups is None else groups),
        "mac": node.mac,
        "ip": node.ip or "",
        "bmc": node.bmc,
        "bmcusername": node.bmcusername,
        "bmcpassword": password,
        "mgt": node.mgt,
        "cons": node.cons,
        "serialport": "" if node.serialport is None else str(node.serialport),
        "serialspeed": "" if node.serialspeed is None else str(node.serialspeed),
        "netboot": node.netboot,
        "provmethod": node.osimage.imagename if node.osimage_id else "",
        "servicenode": node.servicenode,
        "xcatmaster": node.xcatmaster,
        "installnic": node.installnic,
        "status": node.status,
        "currstate": node.currstate,
        "comments": node.comments,
    }


def xcat_time(value: Any) -> str:
    """Times as xCAT prints them (``statustime=11-26-2026 14:49:03``), local time."""
    return timezone.localtime(value).strftime("%m-%d-%Y %H:%M:%S") if value else ""


def group_map() -> dict[str, list[str]]:
    """Group name → member node names, from one query."""
    groups: dict[str, list[str]] = defaultdict(list)
    for group, node in NodeGroup.objects.values_list("group__name", "node__name"):
        groups[group].append(node)
    for name in Group.objects.values_list("name", flat=True):
        groups.setdefault(name, [])
    return groups


def resolve(expr: str, *, allow_files: bool = False) -> list[str]:
    """The node names a noderange selects, natural order; NoderangeError if it cannot.

    Attribute selectors (``mgt==ipmi``) need every node's attributes; they are loaded
    only when the expression uses one.
    """
    names = list(Node.objects.order_by("sortkey").values_list("name", flat=True))
    cache: dict[str, dict[str, str]] = {}

    def attrs(name: str) -> dict[str, str]:
        if not cache:
            for node in with_groups(Node.objects.select_related("osimage")):
                cache[node.name] = node_attrs(node) | {"name": node.name, "power": node.power}
        return cache.get(name, {})

    return noderange.expand(
        expr,
        nodes=names,
        groups=group_map(),
        attrs=attrs,
        allow_files=allow_files,
        max_names=settings.NODERANGE_MAX,
    )


def resolve_typed(expr: str) -> tuple[list[str], str]:
    """A noderange typed into a page: ``(names, "")``, or ``([], why)`` when it is refused;
    pages show ``why`` with HTTP 400 instead of failing."""
    try:
        return resolve(expr), ""
    except noderange.NoderangeError as exc:
        return [], str(exc)


def resolve_present(expr: str, *, allow_files: bool = False) -> tuple[list[str], list[str]]:
    """(defined nodes, names that are not defined) for a noderange, as xCAT's lsdef/rmdef/
    chdef see it: a plain name or a range member that names nothing is reported and the
    rest still proceeds. Syntax errors still raise."""
    try:
        return resolve(expr, allow_files=allow_files), []
    except noderange.UnknownNodesError as e:
        missing = e.names
    names = list(Node.objects.order_by("sortkey").values_list("name", flat=True))
    selected = noderange.expand(
        expr, nodes=[*names, *missing], groups=group_map(), allow_files=allow_files
    )
    unknown = set(missing)
    return [n for n in selected if n not in unknown], [n for n in selected if n in unknown]


def new_names(expr: str) -> list[str]:
    """Names for ``mkdef -o node[01-10]``: the noderange's ranges, whether or not they exist."""
    try:
        noderange.expand(expr, nodes=[], groups={}, max_names=settings.NODERANGE_MAX)
    except noderange.UnknownNodesError as e:
        # With nothing known, every generated name is "unknown": exactly the list wanted.
        return sorted(set(e.names), key=noderange.natural_key)
    return []


# --- writing nodes ----------------------------------------------------------------------


def save_nodes(
    changes: Sequence[tuple[str, Mapping[str, str]]],
    *,
    mode: str,
    actor: audit.Actor,
    dry_run: bool = False,
) -> ApplyReport:
    """Create or change nodes from xCAT attribute text, all or nothing, audited.

    ``mode``: ``create`` (refuses existing names), ``replace`` (mkdef -f: existing nodes
    get exactly the given attributes), ``update`` (chdef: only existing nodes, given
    attributes change) or ``merge`` (CSV import: create or update). Unknown attributes
    become warnings; every other problem is collected into one :class:`NodeDataError`.
    ``dry_run`` validates only (the CSV preview).
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}")
    report = ApplyReport()
    problems: list[Problem] = []
    parsed: dict[str, dict[str, Any]] = {}
    for name, given in changes:
        if name in parsed:
            problems.append(Problem(name, "name", "given twice"))
            continue
        try:
            attributes.check_name(name)
        except AttributeProblem as e:
            problems.append(Problem(name, e.attr, e.message))
        values: dict[str, Any] = {}
        for attr, text in given.items():
            if attr in READ_ONLY:
                continue
            if attr == "bmcpassword" and text == secrets.MASK:
                # lsdef -z writes the mask for a set password: keep the stored one.
                values[attr] = KEEP_SECRET
                continue
            if attr not in ATTRS:
                report.warnings.append(f"{name}: unknown attribute {attr!r} skipped")
                continue
            try:
                values[attr] = attributes.parse(attr, text)
            except AttributeProblem as e:
                problems.append(Problem(name, e.attr, e.message))
        parsed[name] = values

    existing = {
        n.name: n
        for n in with_groups(Node.objects.filter(name__in=list(parsed)).select_related("osimage"))
    }
    wanted_images = {v["provmethod"] for v in parsed.values() if v.get("provmethod")}
    images = {i.imagename: i for i in OsImage.objects.filter(imagename__in=wanted_images)}
    now = timezone.now()

    finals: list[Node] = []
    group_lists: dict[str, list[str]] = {}
    befores: dict[str, dict[str, str]] = {}
    for name, values in parsed.items():
        old = existing.get(name)
        if old is not None and mode == CREATE:
            problems.append(
                Problem(name, "", "already exists: use mkdef -f to replace it, or chdef")
            )
            continue
        if old is None and mode == UPDATE:
            problems.append(Problem(name, "", "no such node: define it first with mkdef"))
            continue
        if old is not None:
            befores[name] = node_attrs(old, secret="token")
        if old is not None and mode in (UPDATE, MERGE):
            node = old
            group_lists[name] = values.get("groups", old.groups_as_given())
        else:
            node = Node(name=name, sortkey=sort_key(name))
            if old is not None:  # replace: keep identity and what the portal observed
                node.pk, node.power, node.powertime = old.pk, old.power, old.powertime
                node.status, node.statustime = old.status, old.statustime
            group_lists[name] = values.get("groups", [])
        node.allpos = _all_position(group_lists[name])
        for attr, value in values.items():
            if attr == "groups":
                continue
            if value is KEEP_SECRET:
                if old is not None:
                    node.bmcpassword_encrypted = old.bmcpassword_encrypted
                else:
                    report.warnings.append(
                        f"{name}: bmcpassword: {secrets.MASK} stands for a password that was "
                        f"not exported; none is set (set it with chdef {name} bmcpassword=…)"
                    )
            elif attr == "bmcpassword":
                node.bmcpassword = value
            elif attr == "provmethod":
                node.osimage = images.get(value) if value else None
                if value and node.osimage is None:
                    problems.append(Problem(name, attr, f"no osimage named {value!r}"))
            elif attr == "status":
                if value != node.status:
                    node.status, node.statustime = value, now
            else:
                setattr(node, ATTRS[attr].field, value)
        finals.append(node)
    problems += _duplicates(finals, "mac", "MAC") + _duplicates(finals, "ip", "IP address")
    problems += _servicenode_problems(finals, parsed, group_lists)
    _keep_xcatmaster_derived(finals, parsed)
    if problems:
        raise NodeDataError(problems)

    for node in finals:
        (report.changed if node.pk else report.created).append(node.name)
    if dry_run:
        return report
    with transaction.atomic():
        _write_nodes(finals, mode, parsed)
        _set_memberships(finals, group_lists, actor)
        rows = []
        for node in finals:
            after = node_attrs(node, secret="token", groups=group_lists[node.name])
            before = befores.get(node.name)
            if before is None:
                rows.append(_audit_row("node.create", actor, node, None, _nonempty(after)))
            else:
                old, new = audit.diff(before, after)
                if new:
                    rows.append(_audit_row("node.update", actor, node, old, new))
        AuditEvent.objects.bulk_create(rows, batch_size=_BATCH)
    return report


def _all_position(groups: Sequence[str]) -> int | None:
    return groups.index("all") if "all" in groups else None


def _nonempty(attrs: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in attrs.items() if v != ""}


def _keep_xcatmaster_derived(nodes: Sequence[Node], parsed: Mapping[str, Mapping]) -> None:
    """An xcatmaster given equal to the one derived from the node's service node stays
    derived (stored empty): ``lsdef -z`` shows the derived value, and feeding that back
    to ``mkdef -z -f`` must not pin it (docs/hierarchy.md)."""
    given = [n for n in nodes if n.servicenode and n.xcatmaster and "xcatmaster" in parsed[n.name]]
    if not given:
        return
    derived = extensions.hooks.derived_for(n.servicenode for n in given)
    for node in given:
        if node.xcatmaster == derived.get(node.servicenode):
            node.xcatmaster = ""


def _servicenode_problems(
    nodes: Sequence[Node], parsed: Mapping[str, Mapping[str, Any]], groups: Mapping[str, list]
) -> list[Problem]:
    """Each service node a node names must be a node in group ``service``, not itself.

    Two queries whatever the number of nodes; group changes in the same batch count
    (``mkdef -z`` of a service node and its compute nodes in one file).
    """
    given = [n for n in nodes if n.servicenode and "servicenode" in parsed.get(n.name, {})]
    if not given:
        return []
    wanted = {sn for n in given for sn in n.servicenode.split(",")}
    service = set(
        Node.objects.filter(nodegroup__group__name="service").values_list("name", flat=True)
    )
    for name, members in groups.items():
        (service.add if "service" in members else service.discard)(name)
    defined = set(Node.objects.filter(name__in=wanted).values_list("name", flat=True))
    defined |= {n.name for n in nodes}
    known = ", ".join(sorted(service, key=noderange.natural_key)[:10]) or "none yet"
    problems: list[Problem] = []
    for node in given:
        for sn in node.servicenode.split(","):
            if sn == node.name:
                message = f"{sn} is this node itself; name the service node that serves it"
            elif sn not in defined:
                message = (
                    f"{sn} is not a node: define it (mkdef -t node -o {sn} groups=service) "
                    f"or use one of the service nodes ({known})"
                )
            elif sn not in service:
                message = (
                    f"{sn} is not a service node: add it to group service "
                    f"(chdef -t node -o {sn} -p groups=service)"
                )
            else:
                continue
            problems.append(Problem(node.name, "servicenode", message))
    return problems


def _duplicates(nodes: Sequence[Node], field_name: str, label: str) -> list[Problem]:
    """Problems for a MAC or IP given to two nodes, in the batch or against the database."""
    holders: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        value = getattr(node, field_name)
        if value:
            holders[str(value)].append(node.name)
    problems = []
    for value, names in holders.items():
        for name in names[1:]:
            problems.append(
                Problem(name, field_name, f"{label} {value} is also given to {names[0]}")
            )
    batch = [n.name for n in nodes]
    taken = (
        Node.objects.filter(**{f"{field_name}__in": list(holders)})
        .exclude(name__in=batch)
        .values_list(field_name, "name")
    )
    for value, other in taken:
        for name in holders[str(value)]:
            problems.append(
                Problem(name, field_name, f"{label} {value} is already used by {other}")
            )
    return problems


def _write_nodes(finals: Sequence[Node], mode: str, parsed: Mapping[str, Mapping]) -> None:
    new = [n for n in finals if n.pk is None]
    old = [n for n in finals if n.pk is not None]
    Node.objects.bulk_create(new, batch_size=_BATCH)
    if not old:
        return
    if mode in (UPDATE, MERGE):
        touched = {a for n in old for a in parsed[n.name]} - {"groups"}
        fields = {ATTRS[a].field for a in touched} - {"bmcpassword"}
        fields |= {"bmcpassword_encrypted"} if "bmcpassword" in touched else set()
        fields |= {"statustime"} if "status" in touched else set()
        fields |= {"allpos"} if any("groups" in parsed[n.name] for n in old) else set()
    else:
        fields = {a.field for a in ATTRS.values()} - {"groups", "bmcpassword"}
        fields |= {"bmcpassword_encrypted", "statustime", "allpos"}
    # A replaced node keeps its primary key, so its timeline stays attached.
    if fields:
        Node.objects.bulk_update(old, sorted(fields), batch_size=500)


def _set_memberships(
    finals: Sequence[Node], group_lists: Mapping[str, list[str]], actor: audit.Actor
) -> None:
    """Give each node exactly its ordered groups, creating groups that do not exist yet.

    ``all`` is never stored as a group (every node is in it); its place is ``allpos``.
    """
    wanted = {g for names in group_lists.values() for g in names} - {"all"}
    groups = {g.name: g for g in Group.objects.filter(name__in=wanted)}
    missing = [Group(name=n) for n in sorted(wanted - set(groups))]
    Group.objects.bulk_create(missing)
    groups.update({g.name: g for g in missing})
    AuditEvent.objects.bulk_create(
        [
            _audit_row("group.create", actor, g, None, {}, message="created for its members")
            for g in missing
        ]
    )
    NodeGroup.objects.filter(node__in=[n.pk for n in finals]).delete()
    NodeGroup.objects.bulk_create(
        [
            NodeGroup(node=node, group=groups[g], position=i)
            for node in finals
            for i, g in enumerate(n for n in group_lists[node.name] if n != "all")
        ],
        batch_size=_BATCH,
    )


def _audit_row(
    verb: str, actor: audit.Actor, obj: Any, before: Any, after: Any, message: str = ""
) -> AuditEvent:
    """An audit row like :func:`snportal.audit.record` writes, for a bulk insert."""
    return audit.build(verb, actor=actor, obj=obj, before=before, after=after, message=message)


def delete_nodes(names: Sequence[str], *, actor: audit.Actor) -> ApplyReport:
    """Delete nodes (with their memberships and events), audited; unknown names refused."""
    nodes = list(with_groups(Node.objects.filter(name__in=names).select_related("osimage")))
    missing = sorted(set(names) - {n.name for n in nodes}, key=noderange.natural_key)
    if missing:
        raise NodeDataError([Problem(n, "", "no such node") for n in missing])
    with transaction.atomic():
        rows = [
            _audit_row("node.delete", actor, n, _nonempty(node_attrs(n, secret="token")), None)
            for n in nodes
        ]
        AuditEvent.objects.bulk_create(rows, batch_size=_BATCH)
        Node.objects.filter(pk__in=[n.pk for n in nodes]).delete()
    return ApplyReport(removed=sorted((n.name for n in nodes), key=noderange.natural_key))


def rename_node(old: str, new: str, *, actor: audit.Actor) -> None:
    """chdef -n: give a node a new name; its row (timeline, groups, power) stays."""
    node = Node.objects.filter(name=old).first()
    if node is None:
        raise NodeDataError([Problem(old, "", f"The {old} is not a valid object.")])
    try:
        attributes.check_name(new)
    except AttributeProblem as e:
        raise NodeDataError([Problem(new, e.attr, e.message)]) from None
    if Node.objects.filter(name=new).exists():
        raise NodeDataError([Problem(new, "name", "already exists: choose another name")])
    with transaction.atomic():
        Node.objects.filter(pk=node.pk).update(name=new, sortkey=sort_key(new))
        node.name = new
        audit.record(
            "node.rename", actor=actor, obj=node, before={"name": old}, after={"name": new}
        )


# --- groups -----------------------------------------------------------------------------

GROUP_ATTRS = ("description", "members", "grouptype")


def group_attrs(group: Group, members: Sequence[str]) -> dict[str, str]:
    """A group as xCAT lists it: static, with its members in natural order."""
    return {
        "grouptype": "static",
        "members": ",".join(sorted(members, key=noderange.natural_key)),
        "description": group.description,
    }


def save_groups(
    changes: Sequence[tuple[str, Mapping[str, str]]], *, mode: str, actor: audit.Actor
) -> ApplyReport:
    """Create or change groups; ``members=`` sets exactly the members (static groups)."""
    report = ApplyReport()
    problems: list[Problem] = []
    existing = {g.name: g for g in Group.objects.filter(name__in=[n for n, _ in changes])}
    members_of = group_map()
    all_nodes = {
        n.name: n for n in with_groups(Node.objects.filter(name__in=_member_names(changes)))
    }
    plans: list[tuple[Group, dict[str, str], list[str] | None]] = []
    for name, given in changes:
        try:
            attributes.check_name(name)
        except AttributeProblem as e:
            problems.append(Problem(name, e.attr, e.message))
        old = existing.get(name)
        # No "already exists" for groups: a node's groups= creates them implicitly (as in
        # xCAT), so an export that defines nodes and then their groups must import.
        if old is None and mode == UPDATE:
            problems.append(Problem(name, "", "no such group"))
        values: dict[str, str] = {}
        members: list[str] | None = None
        for attr, text in given.items():
            if attr not in GROUP_ATTRS:
                report.warnings.append(f"{name}: unknown attribute {attr!r} skipped")
            elif attr == "grouptype" and text not in ("", "static"):
                problems.append(
                    Problem(name, attr, f"{text!r} groups are not supported; use static")
                )
            elif attr == "description" and len(text) > 500:
                problems.append(Problem(name, attr, "longer than 500 characters"))
            elif attr == "members":
                members = [m.strip() for m in text.split(",") if m.strip()]
                unknown = [m for m in members if m not in all_nodes]
                if unknown:
                    problems.append(
                        Problem(name, attr, f"no such nodes: {noderange.compress(unknown)}")
                    )
            else:
                values[attr] = text
        group = old if old is not None and mode != REPLACE else Group(name=name)
        if old is not None:
            group.pk = old.pk
            if mode == REPLACE:
                members = members if members is not None else []
        group.description = values.get("description", group.description if old else "")
        plans.append((group, values, members))
    if problems:
        raise NodeDataError(problems)
    with transaction.atomic():
        for group, _values, members in plans:
            old = existing.get(group.name)
            before = group_attrs(old, members_of.get(old.name, [])) if old else None
            group.save()
            if members is not None:
                _set_group_members(group, members, all_nodes)
            after = group_attrs(group, members if members is not None else members_of[group.name])
            if before is None:
                report.created.append(group.name)
                audit.record("group.create", actor=actor, obj=group, after=after)
            else:
                report.changed.append(group.name)
                old_diff, new_diff = audit.diff(before, after)
                if new_diff:
                    audit.record(
                        "group.update", actor=actor, obj=group, before=old_diff, after=new_diff
                    )
    return report


def _member_names(changes: Sequence[tuple[str, Mapping[str, str]]]) -> list[str]:
    return [
        m.strip() for _, given in changes for m in given.get("members", "").split(",") if m.strip()
    ]


def _set_group_members(group: Group, members: Sequence[str], nodes: Mapping[str, Node]) -> None:
    """Exactly ``members`` in the group; a node joining gets it last in its group list."""
    NodeGroup.objects.filter(group=group).exclude(node__name__in=members).delete()
    have = set(NodeGroup.objects.filter(group=group).values_list("node__name", flat=True))
    NodeGroup.objects.bulk_create(
        [
            NodeGroup(node=nodes[m], group=group, position=_next_position(nodes[m]))
            for m in members
            if m not in have
        ]
    )


def _next_position(node: Node) -> int:
    """After the node's last group (a joined group goes last, as xCAT appends it)."""
    return max((m.position for m in node.nodegroup_set.all()), default=-1) + 1


def delete_groups(names: Sequence[str], *, actor: audit.Actor) -> ApplyReport:
    """Delete groups; their nodes stay, without that membership."""
    groups = list(Group.objects.filter(name__in=names))
    missing = sorted(set(names) - {g.name for g in groups})
    if missing:
        raise NodeDataError([Problem(n, "", "no such group") for n in missing])
    members_of = group_map()
    with transaction.atomic():
        for group in groups:
            audit.record(
                "group.delete",
                actor=actor,
                obj=group,
                before=group_attrs(group, members_of.get(group.name, [])),
            )
            group.delete()
    return ApplyReport(removed=sorted(g.name for g in groups))


# --- CSV import -------------------------------------------------------------------------


@dataclass
class CsvRow:
    """One data row of an uploaded CSV: its line, node name, attributes and problems."""

    line: int
    name: str
    attrs: dict[str, str]
    errors: list[str] = field(default_factory=list)

    def shown(self) -> dict[str, str]:
        """The attributes as a page may show them (password masked)."""
        return {k: (secrets.mask(v) if k == "bmcpassword" else v) for k, v in self.attrs.items()}


@dataclass
class CsvPlan:
    """What importing a CSV would do: rows with their errors, created/changed names."""

    columns: list[str]
    rows: list[CsvRow]
    warnings: list[str]
    errors: list[str]  # problems with the file itself
    report: ApplyReport | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.errors for r in self.rows)


def plan_csv(text: str, *, actor: audit.Actor, apply: bool = False) -> CsvPlan:
    """Read a CSV (header ``name,attr,…``), validate every row; write all rows if ``apply``.

    Existing nodes are updated with the columns given (an empty cell clears that
    attribute), new ones created. Nothing is written unless every row is valid.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    plan = CsvPlan(columns=header[1:], rows=[], warnings=[], errors=[])
    if not header or header[0] != "name":
        plan.errors.append("the first line must be a header whose first column is 'name'")
        return plan
    unknown = [c for c in header[1:] if c not in ATTRS]
    plan.warnings += [f"unknown column {c!r} skipped" for c in unknown]
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        if len(values) != len(header):
            plan.rows.append(
                CsvRow(
                    line,
                    values[0].strip() if values else "",
                    {},
                    [f"{len(values)} columns where the header has {len(header)}"],
                )
            )
            continue
        attrs = {c: v.strip() for c, v in zip(header[1:], values[1:], strict=True) if c in ATTRS}
        plan.rows.append(CsvRow(line, values[0].strip(), attrs))
    if not plan.rows:
        plan.errors.append("no data rows")
    if not plan.ok:
        return plan
    try:
        plan.report = save_nodes(
            [(r.name, r.attrs) for r in plan.rows], mode=MERGE, actor=actor, dry_run=not apply
        )
    except NodeDataError as e:
        by_name: dict[str, list[CsvRow]] = defaultdict(list)
        for row in plan.rows:
            by_name[row.name].append(row)
        for problem in e.problems:
            rows = by_name.get(problem.name) or plan.rows[:1]
            text = f"{problem.attr}: {problem.message}" if problem.attr else problem.message
            rows[-1 if problem.message == "given twice" else 0].errors.append(text)
    return plan


# --- events and power -------------------------------------------------------------------


def add_events(
    nodes: Iterable[Node],
    kind: str,
    message: str,
    data: Mapping[str, Any] | None = None,
    user_id: int | None = None,
) -> None:
    """Append one timeline entry to each node (one INSERT for all)."""
    NodeEvent.objects.bulk_create(
        [
            NodeEvent(
                node=n, kind=kind, message=message[:500], data=dict(data or {}), user_id=user_id
            )
            for n in nodes
        ],
        batch_size=_BATCH,
    )


def submit_power(
    command: str,
    names: Sequence[str],
    verb: str,
    *,
    actor: audit.Actor,
    foreground: bool = False,
) -> Job:
    """An rpower/rsetboot job (body ``nodes.tasks.<command>_job``): queued for the workers
    after commit, its request audited (web); or run now (``foreground``, the CLI): the
    management node's nodes here, those behind a service node on its cluster (waited for)."""
    allowed = POWER_VERBS if command == "rpower" else BOOTDEV_VERBS
    if command == "rpower":
        verb = POWER_ALIASES.get(verb, verb)
    if verb not in allowed:
        raise DefError(f"{command}: unknown action {verb!r}; use one of {', '.join(allowed)}")
    if not names:
        raise DefError(f"{command}: no nodes selected")
    return jobs.submit(
        command,
        f"nodes.tasks.{command}_job",
        names,
        {"verb": verb},
        actor,
        foreground,
        label=f"{noderange.compress(names)} {verb}",
        request=f"node.{command}.request",
    )


def request_power(
    command: str, names: Sequence[str], verb: str, *, user: Any = None, actor: audit.Actor
) -> Job:
    """Queue an rpower/rsetboot job for the workers (submitted after commit); the job's
    requester is ``actor`` (``user`` is the same person, kept for the callers' shape)."""
    return submit_power(command, names, verb, actor=actor)
