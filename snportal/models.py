"""Cross-cutting records: the audit trail and jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class NamedModel(models.Model):
    """A model known by its unique ``name``: listed in name order and shown as its name.

    Each subclass declares ``name`` itself (its length and help differ).
    """

    name: models.CharField

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return str(self.name)


class AuditEvent(models.Model):
    """One thing somebody did, kept forever.

    Append-only: a PostgreSQL trigger (migration 0002) rejects UPDATE and DELETE. The user is
    stored as a plain id plus a copied username (no foreign key) so that deleting a user
    neither breaks nor rewrites the trail; object names are copied for the same reason.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"
        DENIED = "denied"

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    verb = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_name = models.CharField(max_length=255, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["verb", "time"]), models.Index(fields=["ip", "time"])]

    def __str__(self) -> str:
        return (
            f"{self.time:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.verb} {self.object_name}"
        )


class Job(models.Model):
    """A unit of background work the UI shows: a build, a bulk power action, a nodeset.

    The django-q2 task only carries the job's primary key; this row is the record operators
    read (status, progress, log, per-target results) and what a cancel request flips.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=500, blank=True, help_text="What the job acts on")
    func = models.CharField(max_length=200, help_text="Dotted path of the job body")
    params = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    requested_by_name = models.CharField(max_length=150, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    phase = models.CharField(max_length=120, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    log = models.TextField(blank=True)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker_pid = models.IntegerField(null=True, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    # A job over nodes runs in parts, one per cluster that serves some of its nodes (a
    # service node's, or the management node's): {"sn01": {"nodes": [...], "state":
    # "queued|running|done", "summary": "..."}}. Empty for jobs that are not routed.
    parts = models.JSONField(default=dict, blank=True)
    # Parts not yet done; decremented atomically, the part that brings it to 0 finishes
    # the job (see snportal.jobs.run_part).
    parts_left = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created", "-id"]
        permissions = [("cancel_job", "Can cancel a running job")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.target}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration(self) -> float | None:
        if not self.started:
            return None
        from django.utils import timezone

        end = self.finished or timezone.now()
        return (end - self.started).total_seconds()

    def ran_on(self) -> list[tuple[str, dict]]:
        """Results in node order with where each ran (``on``), for the job page."""
        return sorted(self.results.items(), key=lambda kv: _natural(kv[0]))

    def result_counts(self) -> dict[str, int]:
        ok = sum(1 for r in self.results.values() if r.get("ok"))
        return {"ok": ok, "failed": len(self.results) - ok}


def _natural(name: str) -> list:
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]
