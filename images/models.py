"""OS image definitions (xCAT osimage) and their distro sources."""

from __future__ import annotations

from django.db import models


class DistroSource(models.Model):
    """A registered distribution (xCAT copycds): where packages come from."""

    name = models.CharField(max_length=64, unique=True, help_text="e.g. debian12, busybox")
    osvers = models.CharField(max_length=32)
    arch = models.CharField(max_length=16, default="x86_64")
    builder = models.CharField(max_length=32, help_text="debian, busybox")
    mirror = models.CharField(max_length=500, blank=True)
    suite = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OsImage(models.Model):
    """How a stateless image is made (xCAT osimage)."""

    imagename = models.CharField(max_length=100, unique=True)
    profile = models.CharField(max_length=64)
    osvers = models.CharField(max_length=32)
    osarch = models.CharField(max_length=16, default="x86_64")
    provmethod = models.CharField(max_length=16, default="netboot")
    source = models.ForeignKey(DistroSource, on_delete=models.PROTECT, related_name="images")
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["imagename"]
        permissions = [("build_osimage", "Can build, pack and roll back images")]

    def __str__(self) -> str:
        return self.imagename
