"""Node inventory: nodes, groups and the per-node event timeline."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Q

from snportal.lib import secrets
from snportal.models import NamedModel

_DIGITS = re.compile(r"[0-9]+")


def sort_key(name: str) -> str:
    """A string that sorts like :func:`nodes.noderange.natural_key` (node2 before node10).

    Stored on the row so that the database can sort and page 10,000 nodes in natural order
    without loading every name: digit runs are left-padded to 20 places.
    """
    return _DIGITS.sub(lambda m: m.group(0).rjust(20, "0"), name)


class Group(NamedModel):
    """A node group (xCAT nodegroup). ``all`` is implicit and never stored."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True)


class Node(models.Model):
    """A managed node, with xCAT's attribute names where they mean something here.

    Validation lives in :mod:`nodes.attributes` and :mod:`nodes.services`, which every
    writer (forms, CSV import, ``mkdef``/``chdef``) goes through, so that a message names
    the field the same way everywhere. The BMC password is stored only encrypted
    (:attr:`bmcpassword`); the database never holds it in clear.
    """

    class Status(models.TextChoices):
        UNKNOWN = "", "unknown"
        POWERING_ON = "powering-on"
        NETBOOTING = "netbooting"
        BOOTING = "booting"
        BOOTED = "booted"
        FAILED = "failed"

    name = models.CharField(max_length=100, unique=True)
    sortkey = models.CharField(max_length=400, editable=False, db_index=True, default="")
    groups = models.ManyToManyField(Group, through="NodeGroup", related_name="nodes", blank=True)
    # Where ``all`` stands in the groups as given (``all,aix`` → 0), None when not given.
    # Every node is in ``all`` anyway; this only keeps xCAT's text exactly (lsdef, nodels).
    allpos = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    mac = models.CharField(max_length=17, blank=True, help_text="aa:bb:cc:dd:ee:ff")
    ip = models.GenericIPAddressField(null=True, blank=True, protocol="IPv4")
    bmc = models.CharField(max_length=255, blank=True, help_text="host or host:port (623)")
    bmcusername = models.CharField(max_length=64, blank=True)
    bmcpassword_encrypted = models.TextField(blank=True, editable=False)
    mgt = models.CharField(max_length=16, default="ipmi")
    cons = models.CharField(max_length=16, default="ipmi", blank=True)
    serialport = models.PositiveSmallIntegerField(null=True, blank=True, default=0)
    serialspeed = models.PositiveIntegerField(null=True, blank=True, default=115200)
    netboot = models.CharField(max_length=16, default="ipxe")
    osimage = models.ForeignKey(
        "images.OsImage", null=True, blank=True, on_delete=models.PROTECT, related_name="nodes"
    )
    servicenode = models.CharField(max_length=100, blank=True)
    xcatmaster = models.CharField(max_length=255, blank=True)
    installnic = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, blank=True, db_index=True)
    statustime = models.DateTimeField(null=True, blank=True)
    power = models.CharField(max_length=16, blank=True, db_index=True)
    powertime = models.DateTimeField(null=True, blank=True)
    currstate = models.CharField(max_length=200, blank=True, help_text="Boot state (nodeset)")
    comments = models.TextField(blank=True)
    # Netboot bookkeeping (docs/boot-protocol.md): the secret the current boot's reports
    # must carry, the image version that boot was given, and why a boot failed.
    # A token is issued only inside a boot attempt that an operator started (nodeset,
    # rinstall, rpower on/boot/reset): ``boot_armed_at`` opens it, the first accepted
    # report binds it to one token, and the boot-state timeouts end it (nodes/boot_tokens.py).
    boot_token = models.CharField(max_length=64, blank=True, editable=False)
    boot_tokens = models.JSONField(default=list, blank=True, editable=False)
    boot_armed_at = models.DateTimeField(null=True, blank=True, editable=False)
    boot_version = models.ForeignKey(
        "images.ImageVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="booting_nodes",
        editable=False,
    )
    statusdetail = models.CharField(max_length=500, blank=True, help_text="Why a boot failed")

    class Meta:
        ordering = ["sortkey"]
        permissions = [
            ("power_node", "Can power nodes on/off and set their boot device"),
            ("netboot_node", "Can nodeset and netboot (rinstall) nodes"),
        ]
        constraints = [
            # Empty MAC/IP are "not set", so only set values must be unique.
            models.UniqueConstraint(fields=["mac"], condition=~Q(mac=""), name="uniq_node_mac"),
            models.UniqueConstraint(fields=["ip"], name="uniq_node_ip"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.sortkey = sort_key(self.name)
        super().save(*args, **kwargs)

    @property
    def bmcpassword(self) -> str:
        """The BMC password in clear, for the power driver only; never render it."""
        if not self.bmcpassword_encrypted:
            return ""
        return secrets.decrypt(self.bmcpassword_encrypted, settings.SECRETS_KEYS)

    @bmcpassword.setter
    def bmcpassword(self, plain: str) -> None:
        self.bmcpassword_encrypted = secrets.encrypt(plain, settings.SECRETS_KEYS) if plain else ""

    @property
    def bmc_host_port(self) -> tuple[str, int]:
        """``bmc`` split into host and UDP port (623 unless given)."""
        from nodes.attributes import split_bmc

        return split_bmc(self.bmc)

    def group_names(self) -> list[str]:
        """Group names in the node's own order (uses a prefetched ``nodegroup_set``)."""
        return [m.group.name for m in sorted(self.nodegroup_set.all(), key=lambda m: m.position)]

    def groups_as_given(self) -> list[str]:
        """The groups as xCAT prints them: :meth:`group_names` with ``all`` in its place."""
        names = self.group_names()
        if self.allpos is not None:
            names.insert(min(self.allpos, len(names)), "all")
        return names


class NodeGroup(models.Model):
    """A node's membership in a group; ``position`` keeps xCAT's group order."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE)
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["node", "group"], name="uniq_node_group")]

    def __str__(self) -> str:
        return f"{self.node_id} in {self.group_id}"


class NodeEvent(models.Model):
    """One entry of a node's timeline (power, boot stages, status reports, console state)."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="events")
    time = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["node", "time"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class BootRequestCount(models.Model):
    """Requests to the boot service per key (node, client address) in one minute window.

    The boot service is unauthenticated, so floods are counted in the database (shared by
    every web process) and refused past a limit before they write anything else.
    """

    key = models.CharField(max_length=120)
    window = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="uniq_boot_request_window")
        ]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window:%H:%M}: {self.count}"


class UnknownMac(models.Model):
    """A MAC that asked the boot service for a script but belongs to no node (discovery).

    Operators see these on the nodes pages and register them (``mkdef … mac=``); the node
    then boots on its next retry.
    """

    mac = models.CharField(max_length=17, unique=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)
    requests = models.PositiveIntegerField(default=1)
    uuid = models.CharField(max_length=64, blank=True)
    serial = models.CharField(max_length=64, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.mac
