"""osimage definitions: copycds, validation messages, revisions, audit, stanza round trip."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from images import services
from images.builders.debian import DEFAULT_SERVICE_POSTINSTALL
from images.defs import OsImageDefs
from images.forms import OsImageForm
from images.models import DistroSource, OsImage, OsImageRevision
from images.tests.factories import ACTOR, make_image, make_source
from snportal import defs
from snportal.defs import DefError
from snportal.models import AuditEvent
from xcat import stanza

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str | None = None, monkeypatch: Any = None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def valid_attrs(**overrides: str) -> dict[str, str]:
    source = make_source("busybox")
    return {**services.defaults_for(source, "compute"), "imagename": "img1", **overrides}


# --- copycds -------------------------------------------------------------------------------


def test_copycds_debian12_creates_the_compute_and_service_definitions() -> None:
    out = run("copycds", "debian12", "--mirror", "http://mirror.example/debian")
    names = set(OsImage.objects.values_list("imagename", flat=True))
    assert names == {"debian12-x86_64-netboot-compute", "debian12-x86_64-netboot-service"}
    assert "debian12-x86_64-netboot-service  (created)" in out
    source = DistroSource.objects.get(name="debian12")
    assert (source.builder, source.suite, source.mirror) == (
        "debian",
        "bookworm",
        "http://mirror.example/debian",
    )


def test_the_service_definition_disables_dhcp_until_the_agent_configures_it() -> None:
    run("copycds", "debian12")
    service = OsImage.objects.get(imagename="debian12-x86_64-netboot-service")
    assert service.postinstall == DEFAULT_SERVICE_POSTINSTALL
    assert "systemctl disable dnsmasq.service" in service.postinstall
    assert "dnsmasq" in service.pkglist.split()
    assert "./usr/share/man*" in service.exlist


def test_copycds_without_a_mirror_uses_this_machines_apt_mirror() -> None:
    from images.builders.base import default_mirror

    run("copycds", "debian12")
    assert DistroSource.objects.get(name="debian12").mirror == default_mirror()


def test_copycds_busybox_creates_two_package_free_definitions() -> None:
    run("copycds", "busybox")
    images = OsImage.objects.filter(source__name="busybox")
    assert sorted(i.profile for i in images) == ["compute", "service"]
    assert all(i.pkglist == "" for i in images)


def test_copycds_again_keeps_edited_definitions_and_changes_the_mirror() -> None:
    run("copycds", "debian12")
    image = OsImage.objects.get(imagename="debian12-x86_64-netboot-compute")
    services.save(image, {**services.attrs_of(image), "description": "mine"}, actor=ACTOR)
    out = run("copycds", "debian12", "--mirror", "http://other/debian")
    assert "(exists)" in out
    assert OsImage.objects.get(pk=image.pk).description == "mine"
    assert DistroSource.objects.get(name="debian12").mirror == "http://other/debian"


def test_copycds_of_an_unknown_distribution_names_the_supported_ones() -> None:
    with pytest.raises(CommandError, match="supported: debian12, busybox"):
        run("copycds", "rhels9")


# --- validation ------------------------------------------------------------------------------


def test_a_pkglist_syntax_error_is_reported_on_the_field_with_its_line() -> None:
    make_source("debian12")
    attrs = valid_attrs(osdistroname="debian12", pkglist="bash\n# fine\nvim nano\n")
    errors = services.check(attrs)
    assert errors == {
        "pkglist": ["img1 line 3: not a package name: 'vim nano' (one package per line)"]
    }


def test_an_include_of_a_missing_list_is_an_error() -> None:
    make_source("debian12")
    errors = services.check(valid_attrs(osdistroname="debian12", pkglist="#INCLUDE:nope#\n"))
    assert "included list 'nope' not found" in errors["pkglist"][0]


def test_an_include_names_another_osimage_whose_list_is_spliced_in() -> None:
    make_image("base", osdistroname="debian12", pkglist="bash\ncurl\n")
    image = make_image("derived", osdistroname="debian12", pkglist="#INCLUDE:base#\nvim\n")
    assert services.build_spec_lists(image)[0] == ["bash", "curl", "vim"]


def test_statelite_is_named_as_not_supported_yet() -> None:
    errors = services.check(valid_attrs(provmethod="statelite"))
    assert errors["provmethod"][0].startswith("statelite is not supported yet; use netboot")


def test_busybox_images_refuse_packages() -> None:
    errors = services.check(valid_attrs(pkglist="vim\n"))
    assert errors == {"pkglist": ["busybox images have no package manager; leave this list empty"]}


def test_a_postinstall_with_a_shell_syntax_error_names_the_line() -> None:
    errors = services.check(valid_attrs(postinstall="#!/bin/sh\nif true; then\n  echo x\n"))
    assert errors["postinstall"][0].startswith("line 4:")


def test_a_python_postinstall_is_not_shell_checked() -> None:
    assert services.check(valid_attrs(postinstall="#!/usr/bin/python3\nif x\n")) == {}


def test_synclist_and_exlist_errors_carry_line_numbers() -> None:
    errors = services.check(
        valid_attrs(
            synclists="/etc/motd 0644 <<EOF\nhi\nEOF\netc/x 0644 <<EOF\nEOF\n", exlist="/\n"
        )
    )
    assert errors["synclists"] == ["line 4: path 'etc/x' must be absolute"]
    assert errors["exlist"] == ["line 1: '/' would match the whole image"]


def test_otherpkglist_needs_an_otherpkgdir() -> None:
    make_source("debian12")
    errors = services.check(valid_attrs(osdistroname="debian12", otherpkglist="snportal-agent\n"))
    assert errors == {"otherpkgdir": ["otherpkglist names packages: say where they come from"]}


def test_kernel_parameters_reserved_for_the_portal_are_refused() -> None:
    errors = services.check(valid_attrs(addkcmdline="quiet snp.root=http://x/"))
    assert errors["addkcmdline"] == ["snp.* parameters are set by the portal at boot; remove them"]


def test_an_osimage_cannot_be_renamed_by_editing() -> None:
    image = make_image("img1")
    errors = services.check({**services.attrs_of(image), "imagename": "img2"}, existing=image)
    assert errors["imagename"] == ["an osimage cannot be renamed; copy it to a new name instead"]


def test_the_form_puts_each_problem_on_its_field() -> None:
    make_source("debian12")
    data = {**valid_attrs(osdistroname="debian12"), "pkglist": "ok\nnot ok\n", "osarch": "x86_64"}
    form = OsImageForm(data)
    assert not form.is_valid()
    assert form.errors["pkglist"] == [
        "img1 line 2: not a package name: 'not ok' (one package per line)"
    ]


# --- revisions and audit -----------------------------------------------------------------


def test_each_change_of_a_list_adds_a_revision_and_an_audit_diff() -> None:
    image = make_image("img1", postinstall="echo one\n")
    services.save(image, {**services.attrs_of(image), "postinstall": "echo two\n"}, actor=ACTOR)
    revisions = OsImageRevision.objects.filter(image=image, attr="postinstall").order_by("number")
    assert [(r.number, r.content) for r in revisions] == [(1, "echo one\n"), (2, "echo two\n")]
    event = AuditEvent.objects.filter(verb="image.change").get()
    assert event.before == {"postinstall": "echo one\n"}
    assert event.after == {"postinstall": "echo two\n"}


def test_saving_without_changes_writes_no_revision_and_no_audit_row() -> None:
    image = make_image("img1", postinstall="echo one\n")
    services.save(image, services.attrs_of(image), actor=ACTOR)
    assert OsImageRevision.objects.filter(image=image).count() == 1
    assert not AuditEvent.objects.filter(verb="image.change").exists()


def test_copy_makes_an_identical_definition_under_another_name() -> None:
    image = make_image("img1", postinstall="echo hi\n", synclists="/etc/a 0600 <<EOF\nx\nEOF\n")
    copy = services.copy(image, "img2", actor=ACTOR)
    original, copied = services.attrs_of(image), services.attrs_of(copy)
    assert {**original, "imagename": "img2", "description": copied["description"]} == copied
    assert AuditEvent.objects.filter(verb="image.copy", object_name="img2").exists()


# --- stanzas (lsdef -z / mkdef -z through the registered DefType) ---------------------------


def test_osimage_is_a_registered_object_type() -> None:
    assert isinstance(defs.get("osimage"), OsImageDefs)


def test_lsdef_z_then_mkdef_z_under_another_name_creates_an_identical_copy(
    settings: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    settings.VAR_DIR = tmp_path
    run("copycds", "debian12")
    name = "debian12-x86_64-netboot-service"
    text = run("lsdef", "-t", "osimage", "-z", name)
    assert text.startswith(stanza.HEADER)
    exported = tmp_path / "exports" / name / "postinstall"
    assert f"postinstall={exported}" in text
    renamed = text.replace(f"{name}:", "myservice:")
    run("mkdef", "-z", stdin=renamed, monkeypatch=monkeypatch)
    original = services.attrs_of(OsImage.objects.get(imagename=name))
    copy = services.attrs_of(OsImage.objects.get(imagename="myservice"))
    assert copy == {**original, "imagename": "myservice"}


def test_lsdef_files_dir_writes_the_lists_there(tmp_path: Path) -> None:
    image = make_image("img1", postinstall="echo hi\n")
    [s] = OsImageDefs().to_stanzas(["img1"], long=True, files_dir=tmp_path)
    assert Path(s.attrs["postinstall"]).read_text() == "echo hi\n"
    assert s.attrs["rootimgdir"] == str(image.rootimgdir)
    assert "pkglist" not in s.attrs  # empty lists are not written


def test_a_bad_stanza_writes_nothing_and_says_why(tmp_path: Path) -> None:
    make_source("busybox")
    good = stanza.Stanza("good", "osimage", {"osdistroname": "busybox"})
    bad = stanza.Stanza("bad", "osimage", {"osdistroname": "busybox", "provmethod": "statelite"})
    with pytest.raises(DefError, match="bad: provmethod: statelite is not supported yet"):
        OsImageDefs().apply([good, bad], replace=False, change_only=False, actor=ACTOR)
    assert not OsImage.objects.exists()


def test_a_missing_list_file_is_reported_and_nothing_is_written() -> None:
    make_source("busybox")
    s = stanza.Stanza("x", "osimage", {"osdistroname": "busybox", "exlist": "/nonexistent/ex"})
    with pytest.raises(DefError, match="x: exlist: cannot read /nonexistent/ex"):
        OsImageDefs().apply([s], replace=False, change_only=False, actor=ACTOR)
    assert not OsImage.objects.exists()


def test_unknown_attributes_are_reported_by_name() -> None:
    make_source("busybox")
    s = stanza.Stanza("x", "osimage", {"osdistroname": "busybox", "colour": "blue"})
    report = OsImageDefs().apply([s], replace=False, change_only=False, actor=ACTOR)
    assert report.created == ["x"]
    assert report.warnings == ["x: unknown attribute 'colour' skipped"]


def test_chdef_reads_a_list_from_a_file(tmp_path: Path) -> None:
    make_image("img1")
    (tmp_path / "ex").write_text("./usr/share/man*\n")
    OsImageDefs().change(["img1"], {"exlist": str(tmp_path / "ex")}, actor=ACTOR)
    assert OsImage.objects.get(imagename="img1").exlist == "./usr/share/man*\n"


def test_rmdef_refuses_an_image_a_node_boots_and_names_the_node() -> None:
    from nodes.models import Node

    image = make_image("img1")
    Node.objects.create(name="node07", osimage=image)
    with pytest.raises(DefError, match="img1 is used by nodes node07"):
        OsImageDefs().remove(["img1"], actor=ACTOR)
    assert OsImage.objects.filter(imagename="img1").exists()


def test_rmdef_removes_the_definition_and_its_files(
    images_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    image = make_image("img1")
    (image.rootimgdir / "rootimg").mkdir(parents=True)
    with django_capture_on_commit_callbacks(execute=True):
        OsImageDefs().remove(["img1"], actor=ACTOR)
    assert not OsImage.objects.exists()
    assert not image.rootimgdir.exists()
    assert AuditEvent.objects.filter(verb="image.delete", object_name="img1").exists()
