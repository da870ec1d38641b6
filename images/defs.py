"""The ``osimage`` object type of lsdef/mkdef/chdef/rmdef (see snportal.defs).

As in xCAT, list and script attributes (pkglist, otherpkglist, exlist, postinstall,
synclists) are file paths in a stanza: ``lsdef -z`` writes the database's text into
files and names them, ``mkdef -z``/``chdef`` read the files named. That is what makes
the seed's ``lsdef -z > f; vi f; mkdef -z < f`` customisation work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from django.conf import settings
from django.db import transaction

from images import services
from images.models import DistroSource, OsImage
from snportal.audit import Actor
from snportal.defs import ApplyReport, DefError, already_exists
from xcat.stanza import Stanza

FILE_ATTRS = services.LIST_ATTRS
# xCAT writes these for every osimage; they mean nothing here and are skipped quietly.
XCAT_ONLY = {"imagetype", "osname", "permission", "pkgdir", "usercomment"}
READ_ONLY = {"rootimgdir"}


class OsImageDefs:
    """osimage definitions, named by comma-separated image names."""

    objtype = "osimage"
    attributes = (*services.ATTRS, *sorted(READ_ONLY))

    def resolve(self, spec: str | None, *, allow_files: bool = False) -> list[str]:
        known = list(OsImage.objects.values_list("imagename", flat=True))
        if spec is None:
            return known
        names = self.new_names(spec)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DefError(f"no such osimage(s): {', '.join(unknown)}")
        return names

    def new_names(self, spec: str) -> list[str]:
        return [n.strip() for n in spec.split(",") if n.strip()]

    def resolve_present(self, spec: str, *, allow_files: bool = False) -> tuple[list, list]:
        """(defined names, missing names): lsdef/rmdef report the missing and go on."""
        names = self.new_names(spec)
        known = set(OsImage.objects.filter(imagename__in=names).values_list("imagename", flat=True))
        return [n for n in names if n in known], [n for n in names if n not in known]

    def to_stanzas(
        self,
        names: Sequence[str],
        *,
        long: bool,
        reveal_secrets: bool = False,
        files_dir: Path | str | None = None,
    ) -> list[Stanza]:
        if not long:
            return [Stanza(name, self.objtype) for name in names]
        images = {i.imagename: i for i in OsImage.objects.filter(imagename__in=names)}
        base = Path(files_dir) if files_dir else Path(settings.VAR_DIR) / "exports"
        stanzas = []
        for name in names:
            image = images[name]
            attrs = services.attrs_of(image)
            for attr in FILE_ATTRS:
                attrs[attr] = _write_file(base / name, attr, attrs[attr])
            attrs["rootimgdir"] = str(image.rootimgdir)
            # Empty attributes are left out: a new definition starts with them empty too
            # (services.defaults_for), so mkdef -z of the export sets exactly these.
            stanzas.append(Stanza(name, self.objtype, {k: v for k, v in attrs.items() if v}))
        return stanzas

    def apply(
        self, stanzas: Sequence[Stanza], *, replace: bool, change_only: bool, actor: Actor
    ) -> ApplyReport:
        report = ApplyReport()
        problems: list[str] = []
        plans: list[tuple[OsImage | None, dict[str, str]]] = []
        existing = {
            i.imagename: i
            for i in OsImage.objects.select_related("source").filter(
                imagename__in=[s.name for s in stanzas]
            )
        }
        for s in stanzas:
            image = existing.get(s.name)
            if image is None and change_only:
                problems.append(f"{s.name}: no such osimage (chdef changes existing ones)")
                continue
            if image is not None and not (replace or change_only):
                # As xCAT's mkdef: reported and skipped, the others are still created.
                report.errors += already_exists(s.name)
                continue
            given = _read(s.name, s.attrs, report.warnings, problems)
            if image is not None and change_only:
                base = services.attrs_of(image)
            else:
                base = _blank(s.name, given)
            plans.append((image, {**base, **given, "imagename": s.name}))
        _save_all(plans, problems, report, actor)
        return report

    def change(
        self, names: Sequence[str], attrs: Mapping[str, str], *, actor: Actor
    ) -> ApplyReport:
        report = ApplyReport()
        problems: list[str] = []
        plans: list[tuple[OsImage | None, dict[str, str]]] = []
        for image in OsImage.objects.select_related("source").filter(imagename__in=names):
            given = _read(image.imagename, attrs, report.warnings, problems)
            plans.append((image, {**services.attrs_of(image), **given}))
        _save_all(plans, problems, report, actor)
        return report

    def remove(self, names: Sequence[str], *, actor: Actor) -> ApplyReport:
        report = ApplyReport()
        try:
            with transaction.atomic():
                for image in OsImage.objects.filter(imagename__in=names):
                    services.delete(image, actor=actor)
                    report.removed.append(image.imagename)
        except services.ImageInUse as e:
            raise DefError(str(e)) from None
        return report


def _write_file(directory: Path, attr: str, text: str) -> str:
    """Write one list/script to ``directory/<attr>`` and return its path ("" if empty)."""
    if not text:
        return ""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / attr
    path.write_text(text)
    if attr == "postinstall":
        path.chmod(0o755)
    return str(path)


def _read(
    name: str, attrs: Mapping[str, str], warnings: list[str], problems: list[str]
) -> dict[str, str]:
    """Stanza attributes → definition attributes: files read, unknown ones reported."""
    out: dict[str, str] = {}
    for attr, value in attrs.items():
        if attr in FILE_ATTRS:
            out[attr] = _read_files(name, attr, value, problems)
        elif attr in services.ATTRS:
            out[attr] = value
        elif attr in READ_ONLY:
            derived = str(Path(settings.IMAGES_DIR) / name)
            if value != derived:
                warnings.append(f"{name}: rootimgdir is derived from the name ({derived}); ignored")
        elif attr in XCAT_ONLY:
            continue
        else:
            warnings.append(f"{name}: unknown attribute {attr!r} skipped")
    return out


def _read_files(name: str, attr: str, value: str, problems: list[str]) -> str:
    """xCAT allows several comma-separated files for a list; their texts are joined."""
    texts = []
    for path in filter(None, (p.strip() for p in value.split(","))):
        try:
            texts.append(Path(path).read_text())
        except OSError as e:
            problems.append(f"{name}: {attr}: cannot read {path}: {e.strerror or e}")
    if len(texts) == 1:
        return texts[0]
    return "".join(t if not t or t.endswith("\n") else t + "\n" for t in texts)


def _blank(name: str, given: Mapping[str, str]) -> dict[str, str]:
    """Defaults for a new definition: from its distro source when one is named."""
    source = DistroSource.objects.filter(name=given.get("osdistroname", "")).first()
    if source is None:
        return {**{a: "" for a in services.ATTRS}, "packmethod": "cpio", "compression": "zstd"}
    attrs = services.defaults_for(source, given.get("profile", "compute"))
    return {**attrs, "imagename": name}


def _save_all(
    plans: list[tuple[OsImage | None, dict[str, str]]],
    problems: list[str],
    report: ApplyReport,
    actor: Actor,
) -> None:
    """All or nothing: every problem of every object is reported, then nothing is written."""
    for image, attrs in plans:
        errors = services.check(attrs, existing=image)
        if errors:
            problems.append(str(services.DefinitionError(errors, attrs["imagename"])))
    if problems:
        raise DefError("\n".join(problems))
    with transaction.atomic():
        for image, attrs in plans:
            saved = services.save(image, attrs, actor=actor)
            (report.changed if image is not None else report.created).append(saved.imagename)
