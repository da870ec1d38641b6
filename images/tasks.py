"""genimage and packimage job bodies (run by django-q2 workers, or in the CLI's foreground).

Each body holds the image's build lock (taken by :func:`images.services.start_build`)
and gives it back whatever happens. A failure names the failing step, its exit status
and the log tail; the image's current tree and current version are only replaced once
the new one is complete, so a failed or cancelled build leaves them as they were.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from images import services
from images.builders import BUILDERS, busybox
from images.builders.base import BuildSpec
from images.initrd import build_initrd
from images.kernel import fetch_debian_kernel, kernel_from_tree
from images.models import ImageVersion, OsImage
from images.pack import pack_image, prune_versions
from images.proc import StepCancelled, StepFailed
from snportal.jobs import Closing, JobCancelled, JobContext, closes_with
from snportal.models import Job

# How often, at most, the log is flushed to the job row and the cancel flag read: a
# Debian build prints thousands of lines and each flush is one UPDATE.
FLUSH_SECONDS = 0.5
MAX_BUFFERED_LINES = 200


class BuildFailed(Exception):
    """A build step failed; the message is what the job page shows as the error."""


class Watch:
    """The build's log sink and cancel check, batched so a chatty step costs few queries.

    ``run_logged`` polls :meth:`cancelled` several times a second while a step is quiet,
    which is also when buffered lines are flushed: the job page shows a step's last line
    even when it then stays silent for minutes.
    """

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.buffer: list[str] = []
        self.last_flush = time.monotonic()
        self.last_check = 0.0
        self.cancel_seen = False

    def log(self, line: str) -> None:
        self.buffer.append(line)
        if len(self.buffer) >= MAX_BUFFERED_LINES:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.ctx.log("\n".join(self.buffer))
            self.buffer = []
        self.last_flush = time.monotonic()

    def cancelled(self) -> bool:
        now = time.monotonic()
        if now - self.last_flush >= FLUSH_SECONDS:
            self.flush()
        if not self.cancel_seen and now - self.last_check >= FLUSH_SECONDS:
            self.last_check = now
            self.cancel_seen = self.ctx.cancelled()
        return self.cancel_seen

    def progress(self, percent: int, phase: str) -> None:
        self.flush()
        self.ctx.progress(percent, phase)
        if self.cancelled():
            raise StepCancelled(phase)


def cache_dir() -> Path:
    """Downloads shared by builds (busybox-static, Debian's kernel for busybox images)."""
    return Path(settings.VAR_DIR) / "cache"


def _image(ctx: JobContext) -> OsImage:
    image = OsImage.objects.select_related("source").get(pk=ctx.params["image"])
    if image.build_job_id != ctx.pk:
        raise BuildFailed(f"{image.imagename}: this job does not hold the build lock")
    return image


def _run(ctx: JobContext, kind: str, step) -> str:
    """Run one build with its lock, turning step failures into clear job outcomes."""
    image = _image(ctx)
    watch = Watch(ctx)
    started = time.monotonic()
    try:
        summary = step(image, watch)
    except StepCancelled as e:
        watch.log(f"{kind}: cancelled during {e.step}; the current tree and version are unchanged")
        raise JobCancelled() from None
    except StepFailed as e:
        watch.log(f"---- {kind} failed: step {e.step!r} exited with status {e.returncode} ----")
        watch.log("---- last lines of that step ----")
        for line in e.tail:
            watch.log(line)
        message = f"{kind} failed in step {e.step!r} (exit status {e.returncode})"
        raise BuildFailed(f"{message}; the log ends with that step's last lines") from None
    finally:
        watch.flush()
        services.release_build_lock(image.pk, ctx.pk)
    # The runner writes the closing ``image.<kind>.done`` audit row from the outcome.
    return f"{summary} in {time.monotonic() - started:.1f} s"


# --- genimage ------------------------------------------------------------------------------


def _closing(job: Job) -> Closing:
    """``image.genimage.done`` / ``image.packimage.done`` on the image the job built."""
    return Closing(f"image.{job.kind}.done", "osimage", job.target, str(job.params["image"]))


@closes_with(_closing)
def genimage(ctx: JobContext) -> str:
    """Build a fresh root tree, its kernel and stateless initrd, then swap them in."""
    return _run(ctx, "genimage", _genimage)


def _genimage(image: OsImage, watch: Watch) -> str:
    watch.progress(1, "prepare")
    root = image.rootimgdir
    work = root / f"{services.BUILD_PREFIX}{watch.ctx.pk}"
    try:
        services.discard_temporary(image)
        work.mkdir(parents=True)
        spec = _spec(image)
        watch.log(
            f"genimage {image.imagename}: builder {image.source.builder}, "
            f"{len(spec.pkglist)} packages, {len(spec.otherpkgs)} other packages"
        )
        watch.progress(5, "root filesystem")
        tree = work / "rootimg"
        if image.source.builder == "busybox":
            busybox.build_rootfs(spec, tree, watch.log, watch.cancelled, cache_dir=cache_dir())
            watch.progress(70, "kernel")
            kernel = fetch_debian_kernel(cache_dir(), watch.log, watch.cancelled)
        else:
            BUILDERS[image.source.builder](spec, tree, watch.log, watch.cancelled)
            watch.progress(70, "kernel")
            kernel = kernel_from_tree(tree)
        watch.log(f"kernel: {kernel.version}")
        shutil.copyfile(kernel.vmlinuz, work / "kernel")
        watch.progress(80, "initrd")
        static = busybox.static_busybox(cache_dir(), watch.log, watch.cancelled)
        build_initrd(kernel, work / "initrd", busybox=static)
        watch.log(f"initrd: {(work / 'initrd').stat().st_size} bytes")
        watch.progress(95, "publish tree")
        _swap_in(root, work, watch.ctx.pk)
    finally:
        services.remove_tree(work)
    services.mark_tree_built(image.pk)
    watch.log(f"genimage: build tree ready in {root / 'rootimg'}")
    return f"genimage {image.imagename}"


def _spec(image: OsImage) -> BuildSpec:
    pkglist, otherpkgs = services.build_spec_lists(image)
    source = image.source
    return BuildSpec(
        imagename=image.imagename,
        osvers=image.osvers,
        osarch=image.osarch,
        profile=image.profile,
        distro_name=source.name,
        mirror=source.mirror or BuildSpec.mirror,
        suite=source.suite or BuildSpec.suite,
        pkglist=pkglist,
        otherpkgs=otherpkgs,
        otherpkgdir=image.otherpkgdir,
        exlist=image.exlist,
        synclists=[(e["path"], e["mode"], e["content"]) for e in image.synclists],
        postinstall=image.postinstall,
        addkcmdline=image.addkcmdline,
    )


def _swap_in(root: Path, work: Path, job_pk: int) -> None:
    """Replace rootimg, kernel and initrd by the new ones; the old set is removed after.

    Renames within one filesystem: the tree is never half old, half new. The build lock
    keeps packimage away meanwhile.
    """
    old = root / f"{services.OLD_PREFIX}{job_pk}"
    old.mkdir()
    names = ("rootimg", "kernel", "initrd")
    for name in names:
        if (root / name).exists():
            (root / name).rename(old / name)
    for name in names:
        (work / name).rename(root / name)
    services.remove_tree(old)


# --- packimage -----------------------------------------------------------------------------

# packimage's phases as (start, end) percentages of the job.
_PACK_PHASES = {"scan": (0, 10), "archive": (10, 80), "checksum": (80, 95), "publish": (95, 99)}


@closes_with(_closing)
def packimage(ctx: JobContext) -> str:
    """Pack the build tree into a new immutable version and make it current."""
    return _run(ctx, "packimage", _packimage)


def _packimage(image: OsImage, watch: Watch) -> str:
    root = image.rootimgdir
    if not (root / "rootimg").is_dir():
        raise BuildFailed(f"{image.imagename}: no build tree in {root}; run genimage first")
    method = watch.ctx.params.get("method", image.packmethod)
    compression = watch.ctx.params.get("compression", image.compression)

    def progress(phase: str, percent: int | None) -> None:
        start, end = _PACK_PHASES.get(phase, (0, 100))
        watch.progress(start + (end - start) * (percent or 0) // 100, phase)

    services.discard_temporary(image)
    packed = pack_image(
        root / "rootimg",
        image.versions_dir,
        kernel=root / "kernel",
        initrd=root / "initrd",
        exlist=image.exlist,
        method=method,
        compression=compression,
        log=watch.log,
        progress=progress,
        cancel_check=watch.cancelled,
    )
    manifest = packed.manifest
    with transaction.atomic():
        version, _ = ImageVersion.objects.get_or_create(
            image=image,
            version=packed.version,
            defaults={
                "method": manifest["method"],
                "compression": manifest["compression"],
                "rootfmt": manifest["rootfmt"],
                "root": manifest["root"],
                "files": manifest["files"],
                "job_id": watch.ctx.pk,
            },
        )
        # The switch nodes see: one UPDATE, after the version is complete on disk.
        OsImage.objects.filter(pk=image.pk).update(current_version=version)
    for name, info in manifest["files"].items():
        watch.log(f"  {name}: {info['size']} bytes, sha256 {info['sha256']}")
    removed = prune_versions(image.versions_dir, 0, protect=_versions_to_keep(image, version))
    if removed:
        ImageVersion.objects.filter(image=image, version__in=removed).delete()
        watch.log(f"packimage: pruned old versions {', '.join(removed)}")
    size = manifest["files"][manifest["root"]]["size"]
    return f"packimage {image.imagename}: version {packed.version}, root {size} bytes"


def _versions_to_keep(image: OsImage, current: ImageVersion) -> set[str]:
    """The newest N by the database's clock (manifests only have whole seconds), current,
    and every version a node's current boot was given (it may still be downloading it).

    Directories with no row (left by a pack whose commit failed) are not kept either.
    """
    newest = ImageVersion.objects.filter(image=image).order_by("-created", "-id")
    keep = set(newest.values_list("version", flat=True)[: settings.IMAGE_VERSIONS_KEEP])
    booting = set(
        ImageVersion.objects.filter(image=image, booting_nodes__isnull=False).values_list(
            "version", flat=True
        )
    )
    return keep | booting | {current.version}
