"""What the image pages, the CLI verbs and the ``osimage`` DefType all call.

Definitions: one attribute dictionary in xCAT's names (every value a string, synclists
in their here-document text form) is what forms, stanzas and ``chdef`` hand in, what
:func:`check` validates field by field, and what the audit trail diffs. Builds:
:func:`start_build` takes the image's build lock under a row lock and creates the job;
the job bodies live in :mod:`images.tasks`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from images.builders.base import default_mirror
from images.builders.debian import (
    DEFAULT_COMPUTE_PKGLIST,
    DEFAULT_EXLIST,
    DEFAULT_SERVICE_PKGLIST,
    DEFAULT_SERVICE_POSTINSTALL,
)
from images.lists import (
    ListSyntaxError,
    format_synclists,
    parse_exlist,
    parse_pkglist,
    parse_synclists,
)
from images.models import DistroSource, ImageVersion, OsImage, OsImageRevision
from images.pack import COMPRESSIONS, METHODS, discard_incomplete
from snportal import audit, jobs
from snportal.errors import Problem, ValidationProblems
from snportal.models import Job

# Attributes in xCAT's names, in the order lsdef -l and the forms show them.
ATTRS = (
    "imagename",
    "osdistroname",
    "profile",
    "osvers",
    "osarch",
    "provmethod",
    "description",
    "pkglist",
    "otherpkglist",
    "otherpkgdir",
    "exlist",
    "postinstall",
    "synclists",
    "addkcmdline",
    "packmethod",
    "compression",
)
LIST_ATTRS = OsImageRevision.LIST_ATTRS
ARCHES = ("x86_64",)
BUILD_KINDS = ("genimage", "packimage")
# Build directories beside rootimg: a genimage in progress, and the tree it replaces.
BUILD_PREFIX = ".build-"
OLD_PREFIX = ".old-"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHELLS = {"sh": "sh", "dash": "sh", "bash": "bash"}
_SHELL_ERROR = re.compile(r"(?:line )?(\d+): (.*)")

# copycds: what each supported distribution registers.
DISTROS: dict[str, dict[str, str]] = {
    "debian12": {"osvers": "debian12", "builder": "debian", "suite": "bookworm"},
    "busybox": {"osvers": "busybox", "builder": "busybox", "suite": ""},
}


class DefinitionError(ValidationProblems):
    """Attribute problems, keyed by attribute ("" for the definition as a whole)."""

    separator = "; "

    def __init__(self, errors: Mapping[str, list[str]], name: str = "") -> None:
        self.errors = dict(errors)
        self.name = name
        super().__init__(
            [Problem(name, attr, msg) for attr, msgs in self.errors.items() for msg in msgs]
        )


class BuildError(RuntimeError):
    """A build cannot start (another one runs, nothing to pack); the message says why."""


class ImageInUse(RuntimeError):
    """The image cannot be deleted: nodes boot it."""


# --- definitions ---------------------------------------------------------------------------


def attrs_of(image: OsImage) -> dict[str, str]:
    """The definition as xCAT attributes (strings), the one shape everything exchanges."""
    return {
        "imagename": image.imagename,
        "osdistroname": image.source.name,
        "profile": image.profile,
        "osvers": image.osvers,
        "osarch": image.osarch,
        "provmethod": image.provmethod,
        "description": image.description,
        "pkglist": image.pkglist,
        "otherpkglist": image.otherpkglist,
        "otherpkgdir": image.otherpkgdir,
        "exlist": image.exlist,
        "postinstall": image.postinstall,
        "synclists": format_synclists(image.synclists),
        "addkcmdline": image.addkcmdline,
        "packmethod": image.packmethod,
        "compression": image.compression,
    }


def _list_resolver(attr: str):
    """``#INCLUDE:<name>#`` names another osimage; its list of the same kind is spliced in."""

    def resolve(name: str) -> str:
        try:
            return getattr(OsImage.objects.get(imagename=name), attr)
        except OsImage.DoesNotExist:
            raise LookupError(name) from None

    return resolve


def check(attrs: Mapping[str, str], *, existing: OsImage | None = None) -> dict[str, list[str]]:
    """Every problem of a complete attribute set, keyed by attribute (empty: valid)."""
    errors: dict[str, list[str]] = {}

    def add(attr: str, message: str) -> None:
        errors.setdefault(attr, []).append(message)

    name = attrs.get("imagename", "")
    if not _NAME.fullmatch(name):
        add("imagename", "letters, digits, '.', '_' and '-' only, starting with a letter or digit")
    elif name == "new":
        add("imagename", "'new' is reserved (it is the address of the create page)")
    elif len(name) > 100:
        add("imagename", "at most 100 characters")
    elif OsImage.objects.filter(imagename=name).exclude(pk=getattr(existing, "pk", None)).exists():
        add("imagename", f"an osimage named {name!r} already exists")
    if existing is not None and name != existing.imagename:
        add("imagename", "an osimage cannot be renamed; copy it to a new name instead")
    source = DistroSource.objects.filter(name=attrs.get("osdistroname", "")).first()
    if source is None:
        known = ", ".join(DistroSource.objects.values_list("name", flat=True)) or "none yet"
        given = attrs.get("osdistroname", "")
        add("osdistroname", f"no distro source {given!r} (registered with copycds: {known})")
    for attr in ("profile", "osvers"):
        if not _NAME.fullmatch(attrs.get(attr, "")):
            add(attr, "required: letters, digits, '.', '_' and '-'")
    if attrs.get("osarch") not in ARCHES:
        add("osarch", f"only {', '.join(ARCHES)} images can be built here")
    provmethod = attrs.get("provmethod", "")
    if provmethod == OsImage.ProvMethod.STATELITE:
        add(
            "provmethod",
            "statelite is not supported yet; use netboot (the root image is unpacked into RAM, "
            "or mounted as squashfs under a RAM overlay)",
        )
    elif provmethod != OsImage.ProvMethod.NETBOOT:
        add("provmethod", f"{provmethod!r} is not a provisioning method here; use netboot")
    for attr in ("pkglist", "otherpkglist"):
        try:
            packages = parse_pkglist(attrs.get(attr, ""), _list_resolver(attr), name=name or None)
        except ListSyntaxError as e:
            add(attr, str(e))
            continue
        if packages and source is not None and source.builder == "busybox":
            add(attr, "busybox images have no package manager; leave this list empty")
    otherpkgdir = attrs.get("otherpkgdir", "").strip()
    if otherpkgdir and not (otherpkgdir.startswith("/") or otherpkgdir.startswith("deb ")):
        add("otherpkgdir", "an absolute directory of .deb files, or an apt line 'deb … URL …'")
    if attrs.get("otherpkglist", "").strip() and not otherpkgdir:
        if not any(m.startswith("otherpkglist") for m in errors):
            add("otherpkgdir", "otherpkglist names packages: say where they come from")
    for attr, parse in (("exlist", parse_exlist), ("synclists", parse_synclists)):
        try:
            parse(attrs.get(attr, ""))
        except ListSyntaxError as e:
            add(attr, f"line {e.line_no}: {e.message}")
    script_problem = _script_syntax(attrs.get("postinstall", ""))
    if script_problem:
        add("postinstall", script_problem)
    addkcmdline = attrs.get("addkcmdline", "")
    if "\n" in addkcmdline or "\r" in addkcmdline:
        add("addkcmdline", "one line of kernel parameters")
    elif any(word.startswith("snp.") for word in addkcmdline.split()):
        add("addkcmdline", "snp.* parameters are set by the portal at boot; remove them")
    if attrs.get("packmethod") not in METHODS:
        add("packmethod", f"choose one of {', '.join(METHODS)}")
    if attrs.get("compression") not in COMPRESSIONS:
        add("compression", f"choose one of {', '.join(COMPRESSIONS)}")
    for attr, limit in (("description", 500), ("otherpkgdir", 500), ("addkcmdline", 500)):
        if len(attrs.get(attr, "")) > limit:
            add(attr, f"at most {limit} characters")
    return errors


def _script_syntax(script: str) -> str:
    """A shell postinstall's syntax error as ``line N: message`` (``sh -n``), else ""."""
    if not script.strip():
        return ""
    shell = "sh"
    if script.startswith("#!"):
        interpreter = script.splitlines()[0][2:].split()
        program = Path(interpreter[0]).name if interpreter else ""
        if program == "env" and len(interpreter) > 1:
            program = interpreter[1]
        shell = _SHELLS.get(program, "")
        if not shell:
            return ""  # python, perl…: checked when it runs
    result = subprocess.run(
        [shell, "-n"], input=script, capture_output=True, text=True, timeout=10, check=False
    )
    if result.returncode == 0:
        return ""
    message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "syntax error"
    match = _SHELL_ERROR.search(message)
    return f"line {match[1]}: {match[2]}" if match else message


def _apply_fields(image: OsImage, attrs: Mapping[str, str]) -> None:
    image.imagename = attrs["imagename"]
    image.source = DistroSource.objects.get(name=attrs["osdistroname"])
    for attr in (
        "profile", "osvers", "osarch", "provmethod", "description", "pkglist",
        "otherpkglist", "exlist", "postinstall", "addkcmdline", "packmethod", "compression",
    ):  # fmt: skip
        setattr(image, attr, attrs.get(attr, ""))
    image.otherpkgdir = attrs.get("otherpkgdir", "").strip()
    image.synclists = parse_synclists(attrs.get("synclists", ""))


def defaults_for(source: DistroSource, profile: str) -> dict[str, str]:
    """A complete attribute set for a new definition of ``source``'s ``profile``."""
    return {
        "imagename": f"{source.osvers}-{source.arch}-netboot-{profile}",
        "osdistroname": source.name,
        "profile": profile,
        "osvers": source.osvers,
        "osarch": source.arch,
        "provmethod": OsImage.ProvMethod.NETBOOT,
        "description": "",
        "pkglist": "",
        "otherpkglist": "",
        "otherpkgdir": "",
        "exlist": "",
        "postinstall": "",
        "synclists": "",
        "addkcmdline": "",
        "packmethod": "cpio",
        "compression": "zstd",
    }


def save(
    image: OsImage | None,
    attrs: Mapping[str, str],
    *,
    actor: audit.Actor,
    verb: str | None = None,
) -> OsImage:
    """Create (``image`` None) or update a definition from a complete attribute set.

    Validates everything first (DefinitionError, nothing written), writes a revision for
    each list or script that changed, and records the before/after diff in the audit.
    """
    with transaction.atomic():
        if image is not None:
            image = OsImage.objects.select_for_update().select_related("source").get(pk=image.pk)
        before = attrs_of(image) if image is not None else {}
        errors = check(attrs, existing=image)
        if errors:
            raise DefinitionError(errors, attrs.get("imagename", ""))
        target = image or OsImage()
        _apply_fields(target, attrs)
        target.save()
        after = attrs_of(target)
        for attr in LIST_ATTRS:
            if after[attr] != before.get(attr, ""):
                _add_revision(target, attr, after[attr], actor)
        changed_before, changed_after = audit.diff(before, after)
        if image is not None and not changed_after:
            return target
        audit.record(
            verb or ("image.change" if image is not None else "image.create"),
            actor=actor,
            obj=target,
            before=changed_before if image is not None else None,
            after=changed_after,
        )
    return target


def _add_revision(image: OsImage, attr: str, content: str, actor: audit.Actor) -> None:
    last = image.revisions.filter(attr=attr).order_by("-number").first()
    OsImageRevision.objects.create(
        image=image,
        attr=attr,
        number=(last.number + 1) if last else 1,
        content=content,
        author=actor.username,
    )


def copy(image: OsImage, newname: str, *, actor: audit.Actor) -> OsImage:
    """The seed's ``lsdef -z | mkdef -z`` customisation step: same attributes, new name."""
    attrs = {**attrs_of(image), "imagename": newname}
    attrs["description"] = attrs["description"] or f"copy of {image.imagename}"
    return save(None, attrs, actor=actor, verb="image.copy")


def delete(image: OsImage, *, actor: audit.Actor) -> None:
    """Remove a definition with its build tree and versions; refused while nodes use it."""
    with transaction.atomic():
        image = OsImage.objects.select_for_update().select_related("source").get(pk=image.pk)
        users = list(image.nodes.order_by("name").values_list("name", flat=True)[:21])
        if users:
            shown = ", ".join(users[:20]) + (" …" if len(users) > 20 else "")
            raise ImageInUse(
                f"{image.imagename} is used by nodes {shown}; "
                "point them at another osimage first (nodeset or chdef osimage=…)"
            )
        if _build_running(image):
            raise ImageInUse(f"{image.imagename} is being built (job #{image.build_job_id})")
        before = attrs_of(image)
        audit.record("image.delete", actor=actor, obj=image, before=before)
        directory = image.rootimgdir
        image.delete()
        transaction.on_commit(lambda: remove_tree(directory))


def remove_tree(path: Path) -> None:
    """rmtree that also removes the read-only (0555) version directories."""
    if not path.exists():
        return
    for sub in path.rglob("*"):
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def copycds(
    distro: str, *, mirror: str | None = None, actor: audit.Actor
) -> tuple[DistroSource, list[OsImage]]:
    """Register a distribution and create its default compute and service definitions.

    Existing definitions are left alone (they may carry an operator's edits); a given
    ``mirror`` replaces the source's. Returns the source and the definitions created.
    """
    if distro not in DISTROS:
        raise DefinitionError(
            {"": [f"unsupported distribution {distro!r}; supported: {', '.join(DISTROS)}"]}
        )
    spec = DISTROS[distro]
    created: list[OsImage] = []
    with transaction.atomic():
        source = DistroSource.objects.select_for_update().filter(name=distro).first()
        before = None
        if source is None:
            source = DistroSource(name=distro, arch="x86_64", **spec)
            if spec["builder"] == "debian":
                source.mirror = mirror or default_mirror()
        else:
            before = {"mirror": source.mirror}
            if mirror:
                source.mirror = mirror
        source.save()
        if before is None or before["mirror"] != source.mirror:
            audit.record(
                "distro.copycds",
                actor=actor,
                obj=source,
                before=before,
                after={"mirror": source.mirror, "suite": source.suite, "builder": source.builder},
            )
        for profile in ("compute", "service"):
            attrs = {**defaults_for(source, profile), **_profile_defaults(source, profile)}
            if not OsImage.objects.filter(imagename=attrs["imagename"]).exists():
                created.append(save(None, attrs, actor=actor))
    return source, created


def _profile_defaults(source: DistroSource, profile: str) -> dict[str, str]:
    if source.builder == "busybox":
        return {
            "description": f"busybox {profile} image: builds and boots in seconds (tests, demos)",
        }
    service = profile == "service"
    return {
        "description": f"Debian 12 stateless {profile} node",
        "pkglist": DEFAULT_SERVICE_PKGLIST if service else DEFAULT_COMPUTE_PKGLIST,
        "exlist": DEFAULT_EXLIST,
        "postinstall": DEFAULT_SERVICE_POSTINSTALL if service else "",
        # The seed's otherpkgdir (xcat-core, xcat-dep): here the wheelhouse and source
        # snapshot of `manage.py mkwheelhouse`, which the service postinstall installs.
        "otherpkgdir": str(Path(settings.VAR_DIR).resolve() / "wheelhouse") if service else "",
    }


def build_spec_lists(image: OsImage) -> tuple[list[str], list[str]]:
    """The pkglist and otherpkglist package names, includes expanded."""
    return (
        parse_pkglist(image.pkglist, _list_resolver("pkglist"), name=image.imagename),
        parse_pkglist(image.otherpkglist, _list_resolver("otherpkglist"), name=image.imagename),
    )


# --- builds --------------------------------------------------------------------------------


def _build_running(image: OsImage) -> bool:
    return image.build_job_id is not None and not image.build_job.is_finished


def start_build(
    image: OsImage,
    kind: str,
    *,
    actor: audit.Actor,
    user: Any = None,
    method: str | None = None,
    compression: str | None = None,
    submit: bool = True,
) -> Job:
    """Take the image's build lock and submit the genimage/packimage job.

    The lock is the image row's ``build_job``, read and set under ``SELECT … FOR UPDATE``
    in the transaction that makes the job, so two requests cannot both see it free. A
    lock held by a finished job (cancelled while queued, or its worker killed) is stale:
    its temporary trees are removed and the lock taken over. The workers get the job
    after commit; ``submit=False`` leaves it for the caller to run (the CLI's foreground,
    :func:`snportal.jobs.run_here`).
    """
    if kind not in BUILD_KINDS:
        raise ValueError(f"unknown build kind {kind!r}")
    method = method or image.packmethod
    compression = compression or image.compression
    if method not in METHODS:
        raise BuildError(f"unknown pack method {method!r}; choose from {', '.join(METHODS)}")
    if compression not in COMPRESSIONS:
        raise BuildError(f"unknown compression {compression!r}; choose {', '.join(COMPRESSIONS)}")

    def reserve(job: Job) -> None:
        locked = OsImage.objects.select_for_update().get(pk=image.pk)
        holder = Job.objects.filter(pk=locked.build_job_id).first()
        if holder is not None and not holder.is_finished:
            raise BuildError(
                f"{locked.imagename}: {holder.kind} job #{holder.pk} is {holder.status}; "
                "wait for it or cancel it"
            )
        if holder is not None:
            discard_temporary(locked)
        if kind == "packimage" and not locked.tree_built:
            raise BuildError(f"{locked.imagename} has no build tree yet: run genimage first")
        locked.build_job = job
        locked.save(update_fields=["build_job"])
        detail = f" ({method}, {compression})" if kind == "packimage" else ""
        audit.record(
            f"image.{kind}", actor=actor, obj=locked, message=f"job #{job.pk} queued{detail}"
        )

    params: dict[str, Any] = {"image": image.pk}
    if kind == "packimage":
        params.update(method=method, compression=compression)
    return jobs.submit(
        kind,
        f"images.tasks.{kind}",
        None,
        params,
        actor,
        queue=submit,
        label=image.imagename,
        reserve=reserve,
    )


def release_build_lock(image_pk: int, job_pk: int) -> None:
    """Give the lock back, only if this job still holds it."""
    OsImage.objects.filter(pk=image_pk, build_job_id=job_pk).update(build_job=None)


def discard_temporary(image: OsImage) -> list[str]:
    """Remove what an interrupted build left: partial trees and unpublished versions.

    Only safe while holding the image's build lock (or when its holder has finished).
    """
    removed = []
    root = image.rootimgdir
    if root.is_dir():
        for path in root.iterdir():
            if path.name.startswith((BUILD_PREFIX, OLD_PREFIX)):
                remove_tree(path)
                removed.append(path.name)
    removed += [f"versions/{n}" for n in discard_incomplete(image.versions_dir)]
    return removed


def recover_interrupted_builds() -> list[str]:
    """On worker start: fail the jobs of dead workers, clean their trees, free their locks."""
    jobs.reap_interrupted()
    cleaned = []
    stale = OsImage.objects.filter(build_job__status__in=Job.FINISHED)
    for image in stale:
        with transaction.atomic():
            locked = (
                OsImage.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=image.pk, build_job__status__in=Job.FINISHED)
                .first()
            )
            if locked is None:
                continue
            discard_temporary(locked)
            locked.build_job = None
            locked.save(update_fields=["build_job"])
            cleaned.append(locked.imagename)
    return cleaned


def rollback(image: OsImage, version: str, *, actor: audit.Actor) -> ImageVersion:
    """Make an older packed version current again (atomic; the files never changed)."""
    with transaction.atomic():
        locked = OsImage.objects.select_for_update().get(pk=image.pk)
        target = locked.versions.filter(version=version).first()
        if target is None or not (target.path / "manifest.json").exists():
            known = ", ".join(locked.versions.values_list("version", flat=True)) or "none"
            raise BuildError(f"{locked.imagename} has no version {version!r} (kept: {known})")
        before = locked.current_version.version if locked.current_version else None
        locked.current_version = target
        locked.save(update_fields=["current_version"])
        audit.record(
            "image.rollback",
            actor=actor,
            obj=locked,
            before={"current_version": before},
            after={"current_version": target.version},
        )
    return target


def mark_tree_built(image_pk: int) -> None:
    OsImage.objects.filter(pk=image_pk).update(tree_built=timezone.now())
