"""The ``node`` and ``group`` object types of lsdef/mkdef/chdef/rmdef (see snportal.defs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nodes import extensions, noderange, services
from nodes.attributes import ATTRS
from nodes.models import Group, Node
from snportal.audit import Actor
from snportal.defs import MINUS, SET, ApplyReport, DefError, already_exists, edit_list
from xcat.stanza import Stanza

# Attributes whose empty value differs from what a new node gets (cons=ipmi, serialport=0…):
# lsdef -z writes them even when empty, so that mkdef -z -f keeps them empty.
_EXPLICIT_EMPTY = tuple(
    attr
    for attr, spec in ATTRS.items()
    if spec.field in {f.name for f in Node._meta.fields}
    and Node._meta.get_field(spec.field).get_default() not in (None, "")
)


def _mode(replace: bool, change_only: bool) -> str:
    """mkdef -z creates, mkdef -z -f replaces, chdef -z changes or creates (as xCAT's)."""
    if change_only:
        return services.MERGE
    return services.REPLACE if replace else services.CREATE


class NodeDefs:
    """Nodes: named by noderange; attributes are xCAT's (see nodes.attributes)."""

    objtype = "node"
    attributes = tuple(ATTRS)

    def resolve(self, spec: str | None, *, allow_files: bool = False) -> list[str]:
        if spec is None:
            return list(Node.objects.order_by("sortkey").values_list("name", flat=True))
        try:
            return services.resolve(spec, allow_files=allow_files)
        except noderange.NoderangeError as e:
            raise DefError(str(e)) from None

    def new_names(self, spec: str) -> list[str]:
        """Names to create for ``mkdef -o node[01-10]`` (ranges need not exist)."""
        try:
            return services.new_names(spec)
        except noderange.NoderangeError as e:
            raise DefError(str(e)) from None

    def resolve_present(self, spec: str, *, allow_files: bool = False) -> tuple[list, list]:
        """(defined names, missing names): xCAT reports the missing and goes on."""
        try:
            return services.resolve_present(spec, allow_files=allow_files)
        except noderange.NoderangeError as e:
            raise DefError(str(e)) from None

    def to_stanzas(
        self, names: Sequence[str], *, long: bool, reveal_secrets: bool = False
    ) -> list[Stanza]:
        """Every attribute that is set, plus the empty ones a new node would not get empty
        (``cons=``), so that exporting and importing back changes nothing."""
        if not long:
            return [Stanza(name, self.objtype) for name in names]
        nodes = services.with_groups(Node.objects.filter(name__in=names).select_related("osimage"))
        by_name = {n.name: n for n in nodes}
        masters = extensions.hooks.xcatmasters(by_name.values(), portal="")
        stanzas = []
        for name in names:
            node = by_name[name]
            attrs = services.node_attrs(node, secret="reveal" if reveal_secrets else "mask")
            attrs["statustime"] = services.xcat_time(node.statustime)
            # Derived from the primary service node when unset; mkdef gives it back
            # unpinned (nodes.services._keep_xcatmaster_derived).
            attrs["xcatmaster"] = masters[name]
            kept = {k: v for k, v in attrs.items() if v or k in _EXPLICIT_EMPTY}
            stanzas.append(Stanza(name, self.objtype, kept))
        return stanzas

    def apply(
        self, stanzas: Sequence[Stanza], *, replace: bool, change_only: bool, actor: Actor
    ) -> ApplyReport:
        """mkdef as xCAT's: existing objects (without -f), nodes without ``groups`` and a
        ``bmc`` without ``mgt`` are reported and skipped, the rest is created; chdef -z
        creates missing nodes (in group ``all`` unless groups are given)."""
        report = ApplyReport()
        mode = _mode(replace, change_only)
        todo = []
        existing = set(
            Node.objects.filter(name__in=[s.name for s in stanzas]).values_list("name", flat=True)
        )
        for s in stanzas:
            attrs = dict(s.attrs)
            if change_only:
                if s.name not in existing:
                    attrs.setdefault("groups", "all")
                    report.new.append(s.name)
            elif s.name in existing and not replace:
                report.errors += already_exists(s.name)
                continue
            elif "groups" not in attrs:
                report.errors.append(
                    f"Attribute 'groups' is not specified for node '{s.name}', "
                    "skipping to the next node."
                )
                continue
            elif attrs.get("bmc") and "mgt" not in attrs:
                report.errors.append("Cannot set the attr='bmc' attribute unless 'mgt=ipmi'.")
                continue
            todo.append((s.name, attrs))
        if todo:
            done = services.save_nodes(todo, mode=mode, actor=actor)
            report.created, report.changed = done.created, done.changed
            report.warnings += done.warnings
        return report

    def change(
        self, names: Sequence[str], attrs: Mapping[str, str], *, actor: Actor, op: str = SET
    ) -> ApplyReport:
        """chdef: set, append to (``-p``) or remove from (``-m``) attributes; names that
        are not nodes yet are created as xCAT's chdef does (``-m`` refuses them)."""
        report = ApplyReport()
        nodes = {
            n.name: n
            for n in services.with_groups(
                Node.objects.filter(name__in=names).select_related("osimage")
            )
        }
        if op != SET and "bmcpassword" in attrs:
            raise DefError("bmcpassword cannot be changed with -p or -m; set it with chdef")
        todo = []
        for name in names:
            node = nodes.get(name)
            if node is None and op == MINUS:
                report.errors.append(
                    f"The '-m' option is not valid since the '{name}' definition does not exist."
                )
                continue
            current = services.node_attrs(node) if node is not None else {}
            given = dict(attrs)
            if op != SET:
                for attr, text in attrs.items():
                    given[attr] = edit_list(
                        name, attr, current.get(attr, ""), text, op, report.warnings
                    )
            if node is None:
                given.setdefault("groups", "all")
                report.new.append(name)
            todo.append((name, given))
        if todo:
            done = services.save_nodes(todo, mode=services.MERGE, actor=actor)
            report.created, report.changed = done.created, done.changed
            report.warnings += done.warnings
        return report

    def rename(self, old: str, new: str, *, actor: Actor) -> None:
        """chdef -n: the same node under a new name (timeline, groups and audit kept)."""
        services.rename_node(old, new, actor=actor)

    def remove(self, names: Sequence[str], *, actor: Actor) -> ApplyReport:
        return services.delete_nodes(names, actor=actor)


class GroupDefs:
    """Static node groups: ``members`` is the comma list of their nodes."""

    objtype = "group"
    attributes = services.GROUP_ATTRS

    def resolve(self, spec: str | None, *, allow_files: bool = False) -> list[str]:
        known = list(Group.objects.values_list("name", flat=True))
        if spec is None:
            return known
        names = [n.strip() for n in spec.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DefError(f"no such group(s): {', '.join(unknown)}")
        return names

    def new_names(self, spec: str) -> list[str]:
        return [n.strip() for n in spec.split(",") if n.strip()]

    def resolve_present(self, spec: str, *, allow_files: bool = False) -> tuple[list, list]:
        names = self.new_names(spec)
        known = set(Group.objects.filter(name__in=names).values_list("name", flat=True))
        return [n for n in names if n in known], [n for n in names if n not in known]

    def to_stanzas(
        self, names: Sequence[str], *, long: bool, reveal_secrets: bool = False
    ) -> list[Stanza]:
        """Every attribute, empty ones too: a round trip sets exactly these again."""
        if not long:
            return [Stanza(name, self.objtype) for name in names]
        members = services.group_map()
        groups = {g.name: g for g in Group.objects.filter(name__in=names)}
        return [
            Stanza(name, self.objtype, services.group_attrs(groups[name], members.get(name, [])))
            for name in names
        ]

    def apply(
        self, stanzas: Sequence[Stanza], *, replace: bool, change_only: bool, actor: Actor
    ) -> ApplyReport:
        return services.save_groups(
            [(s.name, s.attrs) for s in stanzas], mode=_mode(replace, change_only), actor=actor
        )

    def change(
        self, names: Sequence[str], attrs: Mapping[str, str], *, actor: Actor, op: str = SET
    ) -> ApplyReport:
        """chdef -t group: ``members=`` sets, ``-p`` adds, ``-m`` removes members; a group
        that does not exist yet is created, as xCAT's chdef does."""
        report = ApplyReport()
        todo = []
        members_of = services.group_map()
        for name in names:
            given = dict(attrs)
            if op != SET:
                current = {"members": ",".join(members_of.get(name, []))}
                for attr, text in attrs.items():
                    given[attr] = edit_list(
                        name, attr, current.get(attr, ""), text, op, report.warnings
                    )
            todo.append((name, given))
        done = services.save_groups(todo, mode=services.MERGE, actor=actor)
        report.created, report.changed = done.created, done.changed
        report.warnings += done.warnings
        return report

    def remove(self, names: Sequence[str], *, actor: Actor) -> ApplyReport:
        return services.delete_groups(names, actor=actor)
