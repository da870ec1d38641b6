"""The ``node`` and ``group`` object types of lsdef/mkdef/chdef/rmdef (see snportal.defs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hierarchy.routing import xcatmasters
from nodes import noderange, services
from nodes.attributes import ATTRS
from nodes.models import Group, Node
from snportal.audit import Actor
from snportal.defs import ApplyReport, DefError
from snportal.lib.stanza import Stanza


def _mode(replace: bool, change_only: bool) -> str:
    """mkdef -z creates, mkdef -z -f replaces, chdef -z changes."""
    if change_only:
        return services.UPDATE
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

    def to_stanzas(
        self, names: Sequence[str], *, long: bool, reveal_secrets: bool = False
    ) -> list[Stanza]:
        if not long:
            return [Stanza(name, self.objtype) for name in names]
        nodes = services.with_groups(Node.objects.filter(name__in=names).select_related("osimage"))
        by_name = {n.name: n for n in nodes}
        masters = xcatmasters(by_name.values(), portal="")
        stanzas = []
        for name in names:
            node = by_name[name]
            attrs = services.node_attrs(node, secret="reveal" if reveal_secrets else "mask")
            # xCAT lists "all" among a node's groups; it is implicit here and dropped on import.
            attrs["groups"] = ",".join([*node.group_names(), "all"])
            attrs["statustime"] = services.xcat_time(node.statustime)
            # Derived from the primary service node when unset; mkdef gives it back
            # unpinned (nodes.services._keep_xcatmaster_derived).
            attrs["xcatmaster"] = masters[name]
            stanzas.append(Stanza(name, self.objtype, {k: v for k, v in attrs.items() if v}))
        return stanzas

    def apply(
        self, stanzas: Sequence[Stanza], *, replace: bool, change_only: bool, actor: Actor
    ) -> ApplyReport:
        return services.save_nodes(
            [(s.name, s.attrs) for s in stanzas], mode=_mode(replace, change_only), actor=actor
        )

    def change(
        self, names: Sequence[str], attrs: Mapping[str, str], *, actor: Actor
    ) -> ApplyReport:
        return services.save_nodes([(n, attrs) for n in names], mode=services.UPDATE, actor=actor)

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

    def to_stanzas(
        self, names: Sequence[str], *, long: bool, reveal_secrets: bool = False
    ) -> list[Stanza]:
        if not long:
            return [Stanza(name, self.objtype) for name in names]
        members = services.group_map()
        groups = {g.name: g for g in Group.objects.filter(name__in=names)}
        return [
            Stanza(
                name,
                self.objtype,
                {
                    k: v
                    for k, v in services.group_attrs(groups[name], members.get(name, [])).items()
                    if v
                },
            )
            for name in names
        ]

    def apply(
        self, stanzas: Sequence[Stanza], *, replace: bool, change_only: bool, actor: Actor
    ) -> ApplyReport:
        return services.save_groups(
            [(s.name, s.attrs) for s in stanzas], mode=_mode(replace, change_only), actor=actor
        )

    def change(
        self, names: Sequence[str], attrs: Mapping[str, str], *, actor: Actor
    ) -> ApplyReport:
        return services.save_groups([(n, attrs) for n in names], mode=services.UPDATE, actor=actor)

    def remove(self, names: Sequence[str], *, actor: Actor) -> ApplyReport:
        return services.delete_groups(names, actor=actor)
