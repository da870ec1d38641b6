"""Service nodes (xCAT's hierarchy): what the management node knows about each one.

A service node is itself a :class:`nodes.models.Node` (it is netbooted like any node) that
is a member of the ``service`` group. Compute nodes name their service nodes in
``Node.servicenode`` (xCAT: an ordered, comma-separated list, primary first). This row holds
what only a service node has: where it serves its compute nodes, its enrolment state and
credentials, and its liveness (heartbeat), which routing and failover read.
"""

from __future__ import annotations

from django.db import models

from nodes.models import Node


class ServiceNode(models.Model):
    """The service-node side of a node: compute-facing address, enrolment, heartbeat."""

    node = models.OneToOneField(Node, on_delete=models.CASCADE, related_name="service")
    # Where it serves its compute nodes: an IPv4 interface address with prefix on the
    # compute network (e.g. 192.168.78.1/24). Its compute nodes' derived xcatmaster.
    address = models.CharField(max_length=64, blank=True)
    # MAC of the NIC on the compute network (which interface dnsmasq and HTTP bind to).
    compute_mac = models.CharField(max_length=17, blank=True)
    # Dynamic DHCP range for unknown MACs on its network ("start,end"); empty: only its
    # own nodes' reservations are answered.
    dhcp_range = models.CharField(max_length=64, blank=True)
    # ws://host:port where the management node's console server reaches this service
    # node's console server (relay of its nodes' consoles).
    console_url = models.CharField(max_length=255, blank=True)

    heartbeat = models.DateTimeField(null=True, blank=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    version = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=200, blank=True, help_text="what the agent last said")

    # Enrolment: armed by nodeset of the service node, consumed by its first enrolment.
    enrol_armed = models.BooleanField(default=False)
    enrol_secret_hash = models.CharField(max_length=128, blank=True, editable=False)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    # Credentials issued at enrolment: the PostgreSQL role, and a token for the HTTP
    # calls the agent makes to the management node (artifact pulls, log shipping).
    db_role = models.CharField(max_length=63, blank=True)
    api_token_hash = models.CharField(max_length=128, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["node__sortkey"]
        permissions = [
            ("move_servicenode", "Can move nodes between service nodes (snmove)"),
            ("enrol_servicenode", "Can arm and revoke service-node enrolment"),
        ]

    def __str__(self) -> str:
        return self.node.name

    @property
    def name(self) -> str:
        return self.node.name


class SyslogLine(models.Model):
    """One syslog message forwarded by a service node (the seed's tail -f /var/log/messages)."""

    servicenode = models.ForeignKey(ServiceNode, on_delete=models.CASCADE, related_name="syslog")
    time = models.DateTimeField(db_index=True)
    received = models.DateTimeField(auto_now_add=True)
    host = models.CharField(max_length=100, blank=True)
    program = models.CharField(max_length=100, blank=True)
    severity = models.PositiveSmallIntegerField(default=6)
    message = models.TextField()

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["servicenode", "time"])]

    def __str__(self) -> str:
        return f"{self.host} {self.program}: {self.message[:60]}"
