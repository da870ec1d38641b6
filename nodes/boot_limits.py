"""Request limits of the unauthenticated boot service, counted in the database.

Every request to ``/boot/ipxe`` and ``/boot/status`` writes to a node's timeline (or to
the unknown-MAC list), and anyone on the node network can send them. So each request is
first counted per minute, per node and per client address, with one upsert per key
(shared by every web process; no cache server needed); past the limit the view answers
429 and writes nothing else. A real boot sends one script request and about five reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from nodes.models import BootRequestCount

KEEP = timedelta(hours=1)


class Throttled(Exception):
    """Past a request limit: the view answers 429 and nothing is written."""


_UPSERT = f"""
INSERT INTO {BootRequestCount._meta.db_table} (key, "window", count)
VALUES (%s, %s, 1)
ON CONFLICT (key, "window") DO UPDATE SET count = {BootRequestCount._meta.db_table}.count + 1
RETURNING count
"""


def _window(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def hit(key: str, limit: int, *, now: datetime | None = None) -> bool:
    """Count one request under ``key``; True while the minute's count is within ``limit``."""
    window = _window(now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key[:120], window])
        (count,) = cursor.fetchone()
    if count == 1:  # first request of a key's window: drop windows nobody needs any more
        BootRequestCount.objects.filter(window__lt=window - KEEP).delete()
    return count <= limit


def check(limits: dict[str, int], *, now: datetime | None = None) -> None:
    """Count the request under every key; raise Throttled if any key is past its limit.

    Every key is counted even when an earlier one is already over, so a flood spread over
    many nodes from one address still exhausts that address's budget.
    """
    over = [key for key, limit in limits.items() if not hit(key, limit, now=now)]
    if over:
        raise Throttled(f"too many requests ({over[0].split(':')[1]}); try again in a minute")
