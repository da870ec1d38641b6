"""The service node's artifact cache against a real management node (live HTTP server)."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from hierarchy import cache
from hierarchy.snweb import hash_token
from hierarchy.tests.factories import make_sn
from images.tests.factories import make_image, make_version
from nodes.tests.factories import make_node

TOKEN = "sn01-api-token-for-tests"
ROOT = os.urandom(3 << 20)  # big enough that 20 misses really overlap the download


@pytest.fixture
def mn(settings: Any, tmp_path: Path, live_server: Any) -> Any:
    """A packed version on a live management node; this process is also sn01's cache."""
    settings.IMAGES_DIR = tmp_path / "images"
    settings.CACHE_DIR = tmp_path / "cache"
    settings.MN_URL = live_server.url
    settings.SN_API_TOKEN = TOKEN
    settings.SERVICE_NODE = "sn01"
    sn = make_sn("sn01")
    sn.api_token_hash = hash_token(TOKEN)
    sn.save()
    image = make_image()
    bodies = {"kernel": b"K" * 4096, "rootimg.cpio.zst": ROOT}
    files = {
        n: {"size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in bodies.items()
    }
    version = make_version(image, files=files)
    for name, body in bodies.items():
        (version.path / name).write_bytes(body)
    return version


def pulls(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("cache pull")]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_misses_make_the_management_node_serve_the_file_once(
    mn: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="hierarchy.snweb")
    start = threading.Barrier(20)
    paths: list[Path] = []
    errors: list[BaseException] = []

    def miss() -> None:
        try:
            start.wait()
            paths.append(cache.fetch(mn.pk, "rootimg.cpio.zst"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=miss) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(paths) == 20 and len(set(paths)) == 1
    assert paths[0].read_bytes() == ROOT
    assert paths[0].name == hashlib.sha256(ROOT).hexdigest()
    assert len(pulls(caplog)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_cached_file_is_served_again_without_asking_the_management_node(
    mn: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="hierarchy.snweb")
    cache.fetch(mn.pk, "kernel")
    cache.fetch(mn.pk, "kernel")
    assert len(pulls(caplog)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_file_that_does_not_match_its_manifest_is_refused_and_not_cached(
    mn: Any, settings: Any
) -> None:
    (mn.path / "kernel").write_bytes(b"X" * 4096)  # same size, other bytes
    with pytest.raises(cache.CacheError, match="does not match its manifest"):
        cache.fetch(mn.pk, "kernel")
    assert list((settings.CACHE_DIR / "objects").iterdir()) == []
    assert list((settings.CACHE_DIR / "tmp").iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_a_revoked_service_node_cannot_fill_its_cache(mn: Any) -> None:
    from hierarchy.models import ServiceNode

    ServiceNode.objects.filter(node__name="sn01").update(revoked_at=timezone.now())
    with pytest.raises(cache.CacheError, match="HTTP 403"):
        cache.fetch(mn.pk, "kernel")


@pytest.mark.django_db(transaction=True)
def test_warm_fetches_every_file_of_the_versions_its_nodes_boot(mn: Any, settings: Any) -> None:
    image = mn.image
    image.current_version = mn
    image.save(update_fields=["current_version"])
    make_node("c01", servicenode="sn01", provmethod=image.imagename)
    assert cache.versions_in_use() == {mn.pk}
    assert cache.warm(cache.versions_in_use()) == {mn.pk: ""}
    names = {p.name for p in (settings.CACHE_DIR / "objects").iterdir()}
    assert names == {f["sha256"] for f in mn.files.values()}


@pytest.mark.django_db(transaction=True)
def test_eviction_drops_least_recently_used_objects_no_node_boots(mn: Any, settings: Any) -> None:
    objects = settings.CACHE_DIR / "objects"
    objects.mkdir(parents=True)
    old, newer = objects / ("1" * 64), objects / ("2" * 64)
    old.write_bytes(b"o" * 1000)
    newer.write_bytes(b"n" * 1000)
    hour_ago = (timezone.now() - timedelta(hours=1)).timestamp()
    os.utime(old, (hour_ago, hour_ago))
    image = mn.image
    image.current_version = mn
    image.save(update_fields=["current_version"])
    make_node("c01", servicenode="sn01", provmethod=image.imagename)
    cache.warm({mn.pk})
    in_use = sum(f["size"] for f in mn.files.values())
    evicted = cache.evict(max_bytes=in_use + 1000)
    assert evicted == [old.name]
    assert newer.exists()
    assert all((objects / f["sha256"]).exists() for f in mn.files.values())
