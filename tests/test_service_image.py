"""The Debian service image carries snportal, keeps DHCP off, starts the agent, holds no secret.

The slow test is the real thing: ``mkwheelhouse``, genimage (mmdebstrap from the mirror,
then the postinstall installs snportal into a venv from the wheelhouse with
``pip --no-index``), packimage; then it reads every file of the tree and the packed root
image looking for this installation's secrets.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from images import services, wheelhouse
from images.builders.base import BuildSpec, run_postinstall
from images.builders.debian import DEFAULT_SERVICE_PKGLIST, DEFAULT_SERVICE_POSTINSTALL
from images.models import OsImage
from images.proc import StepFailed
from images.tests.factories import ACTOR
from nodes import services as node_services
from tests.imagecache import genimage_cached
from tests.labkit import build

SERVICE = "debian12-x86_64-netboot-service"


def test_the_wheelhouse_pins_the_service_packages_as_the_portal_does() -> None:
    portal = (wheelhouse.REPO / "requirements.txt").read_text().splitlines()
    wanted = wheelhouse.service_requirements()
    assert all(line in portal for line in wanted)
    names = {line.split("=")[0].split("[")[0].lower() for line in wanted}
    assert {"django", "django-q2", "psycopg", "pyghmi", "websockets", "google-re2"} <= names
    assert not names & {"pgserver", "pytest", "pytest-django", "ruff", "playwright"}


def test_the_source_snapshot_leaves_out_tests_benchmarks_and_var() -> None:
    files = wheelhouse.source_files()
    assert "manage.py" in files and "images/service/snportal-agent.service" in files
    assert not [f for f in files if f.startswith(("var/", "tests/", "benchmarks/"))]
    assert not [f for f in files if "/tests/" in f]


@pytest.mark.django_db
def test_the_service_definition_installs_snportal_from_the_wheelhouse() -> None:
    services.copycds("debian12", actor=ACTOR)
    image = OsImage.objects.get(imagename=SERVICE)
    assert image.otherpkgdir == str(Path(settings.VAR_DIR).resolve() / "wheelhouse")
    assert image.postinstall == DEFAULT_SERVICE_POSTINSTALL
    packages = services.build_spec_lists(image)[0]
    assert {"dnsmasq", "python3", "python3-venv"} <= set(packages)
    assert not {"isc-dhcp-server", "tftpd-hpa", "nfs-kernel-server"} & set(packages)
    assert "dnsmasq" in DEFAULT_SERVICE_PKGLIST


def test_the_service_postinstall_without_a_wheelhouse_says_to_build_one(tmp_path: Path) -> None:
    spec = BuildSpec(
        imagename=SERVICE,
        osvers="debian12",
        osarch="x86_64",
        profile="service",
        distro_name="debian12",
        otherpkgdir=str(tmp_path / "no-wheelhouse"),
        postinstall=DEFAULT_SERVICE_POSTINSTALL,
    )
    lines: list[str] = []
    (tmp_path / "rootimg").mkdir()
    with pytest.raises(StepFailed):
        run_postinstall(spec, tmp_path / "rootimg", lines.append, None)
    assert any("run manage.py mkwheelhouse" in line for line in lines), lines


def secrets_of_this_installation(bmc_password: str) -> dict[str, bytes]:
    """What must never be in an image: the keys, the database credentials, BMC passwords."""
    found = {
        "SECRET_KEY": settings.SECRET_KEY.encode(),
        "SNPORTAL_SECRETS_KEY": settings.SECRETS_KEY.encode(),
        "a node's BMC password": bmc_password.encode(),
    }
    db = settings.DATABASES["default"]
    if db.get("PASSWORD"):
        found["database password"] = str(db["PASSWORD"]).encode()
    if settings.DATABASE_URL:
        found["DATABASE_URL"] = settings.DATABASE_URL.encode()
    return found


def files_containing(root: Path, needles: dict[str, bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{label} in {path}" for label, n in needles.items() if n in data]
    return hits


def stream_contains(command: str, needles: dict[str, bytes]) -> list[str]:
    """Search a decompressed stream in chunks (overlapping, so no needle is split)."""
    longest = max(len(n) for n in needles.values())
    hits: set[str] = set()
    with subprocess.Popen(command, shell=True, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        tail = b""
        while chunk := proc.stdout.read(1 << 20):
            window = tail + chunk
            hits |= {label for label, n in needles.items() if n in window}
            tail = window[-longest:]
    assert proc.returncode == 0, command
    return sorted(hits)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_packed_service_image_carries_snportal_and_no_secret(
    settings: Any, tmp_path: Path
) -> None:
    settings.IMAGES_DIR = tmp_path / "images"
    bmc_password = "bmc-" + secrets.token_hex(6)
    node_services.save_nodes(
        [("c01", {"groups": "compute", "bmc": "127.0.0.1:1623", "bmcpassword": bmc_password})],
        mode=node_services.MERGE,
        actor=ACTOR,
    )
    wheelhouse.build_wheelhouse(Path(settings.VAR_DIR).resolve() / "wheelhouse")
    services.copycds("debian12", actor=ACTOR)
    image = OsImage.objects.get(imagename=SERVICE)
    seconds = genimage_cached(image)
    started = time.monotonic()
    build(image, "packimage")
    pack_seconds = time.monotonic() - started
    image.refresh_from_db()
    version = image.current_version
    sizes = {name: size for name, size, _ in version.file_rows()}
    print(
        f"\nservice image: genimage {seconds:.0f} s (0 = cached), packimage {pack_seconds:.1f} s, "
        + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sizes.items())
    )

    tree = image.rootimgdir / "rootimg"
    python = "/opt/snportal/venv/bin/python"
    imports = "import django, django_q, psycopg, pyghmi, websockets, cryptography, gunicorn, re2"
    subprocess.run(["chroot", str(tree), python, "-c", imports], check=True)
    assert (tree / "opt/snportal/manage.py").is_file()
    assert not (tree / "opt/snportal/tests").exists()
    assert not (tree / "opt/snportal/var").exists()
    systemd = tree / "etc/systemd/system"
    assert (systemd / "dnsmasq.service").resolve() == Path("/dev/null")
    assert not list(systemd.glob("*.wants/dnsmasq.service"))
    agent = (systemd / "snportal-agent.service").read_text()
    assert f"ExecStart={python} /opt/snportal/manage.py runservice" in agent
    assert (systemd / "multi-user.target.wants/snportal-agent.service").exists()

    needles = secrets_of_this_installation(bmc_password)
    assert files_containing(tree, needles) == []
    for name in version.files:
        path = version.path / name
        reader = "zstd -dc" if name.endswith(".zst") else "cat"
        assert stream_contains(f"{reader} {path}", needles) == [], name
