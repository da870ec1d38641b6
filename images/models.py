"""OS image definitions (xCAT osimage), their distro sources, revisions and packed versions."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from images.pack import COMPRESSIONS, METHODS
from snportal.models import NamedModel


class DistroSource(NamedModel):
    """A registered distribution (xCAT copycds): where packages come from.

    ``builder`` names the root-filesystem builder (``images.builders.BUILDERS``); the
    mirror is per source so one portal can build from a local mirror and another from
    deb.debian.org without touching the image definitions.
    """

    name = models.CharField(max_length=64, unique=True, help_text="e.g. debian12, busybox")
    osvers = models.CharField(max_length=32)
    arch = models.CharField(max_length=16, default="x86_64")
    builder = models.CharField(max_length=32, help_text="debian, busybox")
    mirror = models.CharField(max_length=500, blank=True)
    suite = models.CharField(max_length=64, blank=True)


class OsImage(models.Model):
    """How a stateless image is made (xCAT osimage).

    Lists and scripts live in the database so that they are edited in the browser,
    versioned (:class:`OsImageRevision`) and audited; validation of their syntax lives in
    :mod:`images.services` so that forms, ``mkdef`` and ``chdef`` report it alike.
    ``build_job`` is the build lock: the genimage/packimage job that owns the image's
    build tree; it is taken and released with row locks, never by read-then-write.
    """

    class ProvMethod(models.TextChoices):
        NETBOOT = "netboot"
        STATELITE = "statelite", "statelite (not supported yet)"

    imagename = models.CharField(max_length=100, unique=True)
    profile = models.CharField(max_length=64)
    osvers = models.CharField(max_length=32)
    osarch = models.CharField(max_length=16, default="x86_64")
    provmethod = models.CharField(
        max_length=16, choices=ProvMethod.choices, default=ProvMethod.NETBOOT
    )
    source = models.ForeignKey(DistroSource, on_delete=models.PROTECT, related_name="images")
    description = models.CharField(max_length=500, blank=True)
    pkglist = models.TextField(blank=True)
    otherpkglist = models.TextField(blank=True)
    otherpkgdir = models.CharField(
        max_length=500,
        blank=True,
        help_text="A directory of .deb files, or an apt line 'deb [trusted=yes] URL ./'",
    )
    exlist = models.TextField(blank=True)
    postinstall = models.TextField(blank=True)
    # [{"path": "/etc/exports", "mode": "0644", "content": "..."}]
    synclists = models.JSONField(default=list, blank=True)
    addkcmdline = models.CharField(max_length=500, blank=True)
    packmethod = models.CharField(max_length=16, choices=[(m, m) for m in METHODS], default="cpio")
    compression = models.CharField(
        max_length=16, choices=[(c, c) for c in COMPRESSIONS], default="zstd"
    )
    current_version = models.ForeignKey(
        "ImageVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    build_job = models.ForeignKey(
        "snportal.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tree_built = models.DateTimeField(
        null=True, blank=True, help_text="When genimage last completed the build tree"
    )

    class Meta:
        ordering = ["imagename"]
        permissions = [("build_osimage", "Can build, pack and roll back images")]

    def __str__(self) -> str:
        return self.imagename

    @property
    def rootimgdir(self) -> Path:
        """xCAT's rootimgdir, derived from the name: build tree, boot pieces, versions."""
        return Path(settings.IMAGES_DIR) / self.imagename

    @property
    def versions_dir(self) -> Path:
        return self.rootimgdir / "versions"


class OsImageRevision(models.Model):
    """One saved state of a list or script attribute; a new row per change.

    The diff against the previous revision is what the editor shows; the audit row of
    the same change holds the before/after too, but revisions survive as a readable
    history per attribute.
    """

    LIST_ATTRS = ("pkglist", "otherpkglist", "exlist", "postinstall", "synclists")

    image = models.ForeignKey(OsImage, on_delete=models.CASCADE, related_name="revisions")
    attr = models.CharField(max_length=32, choices=[(a, a) for a in LIST_ATTRS])
    number = models.PositiveIntegerField()
    content = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    author = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["image", "attr", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["image", "attr", "number"], name="uniq_image_revision")
        ]

    def __str__(self) -> str:
        return f"{self.image_id} {self.attr} r{self.number}"


class ImageVersion(models.Model):
    """A packed, immutable, content-addressed version (``<rootimgdir>/versions/<version>/``).

    Rows are written once by packimage from the version's manifest and never changed;
    the files' sizes and sha256 are copied here so pages need not read the disk.
    """

    image = models.ForeignKey(OsImage, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64)
    method = models.CharField(max_length=16)
    compression = models.CharField(max_length=16)
    rootfmt = models.CharField(max_length=16)
    root = models.CharField(max_length=64, help_text="File name of the root image")
    files = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey(
        "snportal.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["image", "version"], name="uniq_image_version")
        ]

    def __str__(self) -> str:
        return f"{self.image_id}@{self.version}"

    @property
    def path(self) -> Path:
        return self.image.versions_dir / self.version

    @property
    def total_size(self) -> int:
        return sum(f["size"] for f in self.files.values())

    def file_rows(self) -> list[tuple[str, int, str]]:
        """(name, size, sha256), root image first, for the detail page."""
        names = sorted(self.files, key=lambda n: (n != self.root, n))
        return [(n, self.files[n]["size"], self.files[n]["sha256"]) for n in names]
