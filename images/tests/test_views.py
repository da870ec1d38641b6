"""Image pages: permission triads for every view and action, forms, copy, delete, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from images import services
from images.models import OsImage
from images.tests.factories import ACTOR, make_image, make_version
from snportal.models import AuditEvent, Job

pytestmark = pytest.mark.django_db

NAME = "busybox-x86_64-netboot-compute"
PAGES = ["/images/", f"/images/{NAME}/", f"/images/{NAME}/history/postinstall/"]
ADMIN_PAGES = ["/images/new/", f"/images/{NAME}/edit/", f"/images/{NAME}/copy/"]
ACTIONS = ["genimage", "packimage", "rollback"]


@pytest.fixture
def image(images_dir: Path) -> OsImage:
    return make_image(NAME, postinstall="echo one\n")


def form_data(image: OsImage, **changes: str) -> dict[str, str]:
    return {**services.attrs_of(image), **changes}


# --- triads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES + ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_login(client: Client, image: OsImage, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_viewers_read_every_image_page(viewer_web: Client, image: OsImage, url: str) -> None:
    assert viewer_web.get(url).status_code == 200


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize(("persona", "status"), [("operator_web", 403), ("admin_web", 200)])
def test_only_admins_open_the_definition_editors(
    request: pytest.FixtureRequest, image: OsImage, url: str, persona: str, status: int
) -> None:
    assert request.getfixturevalue(persona).get(url).status_code == status


@pytest.mark.parametrize("action", ACTIONS)
def test_viewers_are_refused_build_actions_and_the_refusal_is_audited(
    viewer_web: Client, image: OsImage, action: str
) -> None:
    response = viewer_web.post(f"/images/{NAME}/{action}/")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(verb=f"image.{action}", outcome="denied").exists()
    assert not Job.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_build_actions_are_post_only(operator_web: Client, image: OsImage, action: str) -> None:
    assert operator_web.get(f"/images/{NAME}/{action}/").status_code == 405


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/images/new/", {}),
        (f"/images/{NAME}/edit/", {}),
        (f"/images/{NAME}/copy/", {"imagename": "x"}),
        (f"/images/{NAME}/delete/", {}),
    ],
)
def test_operators_cannot_change_definitions_even_by_forged_posts(
    operator_web: Client, image: OsImage, url: str, data: dict
) -> None:
    assert operator_web.post(url, data).status_code == 403
    assert AuditEvent.objects.filter(outcome="denied").exists()
    assert list(OsImage.objects.values_list("imagename", flat=True)) == [NAME]


def test_operator_starts_a_genimage_and_lands_on_its_job_page(
    operator_web: Client, image: OsImage, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as submitted:
        response = operator_web.post(f"/images/{NAME}/genimage/")
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.target, job.requested_by_name) == ("genimage", NAME, "oscar-operator")
    assert [cb for cb in submitted if cb.__qualname__.startswith("submit.")]  # after commit
    assert OsImage.objects.get(pk=image.pk).build_job == job


def test_a_second_build_click_says_which_job_holds_the_image(
    operator_web: Client, image: OsImage
) -> None:
    first = services.start_build(image, "genimage", actor=ACTOR, submit=False)
    response = operator_web.post(f"/images/{NAME}/genimage/", follow=True)
    assert f"genimage job #{first.pk} is queued" in response.content.decode()
    assert Job.objects.count() == 1


def test_operator_packs_with_the_chosen_method(operator_web: Client, image: OsImage) -> None:
    OsImage.objects.filter(pk=image.pk).update(tree_built="2026-01-01T00:00Z")
    operator_web.post(f"/images/{NAME}/packimage/", {"method": "squashfs", "compression": "xz"})
    assert Job.objects.get().params == {
        "image": image.pk,
        "method": "squashfs",
        "compression": "xz",
    }


def test_operator_rolls_back_to_an_older_version(operator_web: Client, image: OsImage) -> None:
    old, new = make_version(image, "1" * 16), make_version(image, "2" * 16)
    OsImage.objects.filter(pk=image.pk).update(current_version=new)
    operator_web.post(f"/images/{NAME}/rollback/", {"version": old.version})
    assert OsImage.objects.get(pk=image.pk).current_version == old


# --- what each role sees --------------------------------------------------------------------


def test_viewers_see_no_build_or_edit_buttons(viewer_web: Client, image: OsImage) -> None:
    page = viewer_web.get(f"/images/{NAME}/").content.decode()
    for label in ("Build (genimage)", "Pack (packimage)", "Edit", "Copy as new", "Delete"):
        assert label not in page


def test_operators_see_build_and_pack_but_not_edit(operator_web: Client, image: OsImage) -> None:
    page = operator_web.get(f"/images/{NAME}/").content.decode()
    assert "Build (genimage)" in page and "Pack (packimage)" in page
    assert "Copy as new definition" not in page


def test_the_detail_page_shows_artifacts_with_sizes_and_sha256(
    viewer_web: Client, image: OsImage
) -> None:
    version = make_version(
        image, files={"rootimg.cpio.zst": {"size": 52_000_000, "sha256": "c" * 64}}
    )
    OsImage.objects.filter(pk=image.pk).update(current_version=version)
    page = viewer_web.get(f"/images/{NAME}/").content.decode()
    assert version.version in page and "c" * 64 in page and "49.6\xa0MB" in page


def test_the_detail_page_names_the_nodes_using_the_image(
    viewer_web: Client, image: OsImage
) -> None:
    from nodes.models import Node

    Node.objects.create(name="node01", osimage=image)
    assert "node01" in viewer_web.get(f"/images/{NAME}/").content.decode()


def test_the_list_page_runs_a_bounded_number_of_queries(
    viewer_web: Client, images_dir: Path, django_assert_max_num_queries: Any
) -> None:
    for n in range(15):
        make_image(f"img{n}")
    with django_assert_max_num_queries(12):
        assert viewer_web.get("/images/").status_code == 200


# --- editing --------------------------------------------------------------------------------


def test_admin_edits_the_postinstall_and_a_revision_and_diff_appear(
    admin_web: Client, image: OsImage
) -> None:
    response = admin_web.post(f"/images/{NAME}/edit/", form_data(image, postinstall="echo two\n"))
    assert response.status_code == 302
    history = admin_web.get(f"/images/{NAME}/history/postinstall/").content.decode()
    assert "-echo one" in history and "+echo two" in history
    assert AuditEvent.objects.filter(verb="image.change", username="alice-admin").exists()


def test_a_pkglist_error_is_shown_under_the_field_with_its_line(
    admin_web: Client, images_dir: Path
) -> None:
    image = make_image("deb", osdistroname="debian12", pkglist="bash\n")
    response = admin_web.post("/images/deb/edit/", form_data(image, pkglist="bash\nvim nano\n"))
    assert response.status_code == 400
    assert response.context["form"].errors["pkglist"] == [
        "deb line 2: not a package name: 'vim nano' (one package per line)"
    ]


def test_statelite_is_refused_with_a_clear_message(admin_web: Client, image: OsImage) -> None:
    response = admin_web.post(f"/images/{NAME}/edit/", form_data(image, provmethod="statelite"))
    assert "statelite is not supported yet" in response.context["form"].errors["provmethod"][0]


def test_admin_creates_a_definition(admin_web: Client, image: OsImage) -> None:
    response = admin_web.post("/images/new/", form_data(image, imagename="fresh"))
    assert response["Location"] == "/images/fresh/"
    assert OsImage.objects.get(imagename="fresh").postinstall == "echo one\n"


def test_copy_as_new_definition_then_edit_it(admin_web: Client, image: OsImage) -> None:
    response = admin_web.post(f"/images/{NAME}/copy/", {"imagename": "mine"})
    assert response["Location"] == "/images/mine/edit/"
    assert OsImage.objects.get(imagename="mine").postinstall == "echo one\n"


def test_copy_to_an_existing_name_says_so(admin_web: Client, image: OsImage) -> None:
    response = admin_web.post(f"/images/{NAME}/copy/", {"imagename": NAME})
    assert response.context["form"].errors["imagename"] == [
        f"an osimage named '{NAME}' already exists"
    ]


def test_delete_is_refused_while_nodes_use_the_image_naming_them(
    admin_web: Client, image: OsImage
) -> None:
    from nodes.models import Node

    Node.objects.create(name="node03", osimage=image)
    response = admin_web.post(f"/images/{NAME}/delete/", follow=True)
    assert f"{NAME} is used by nodes node03" in response.content.decode()
    assert OsImage.objects.filter(imagename=NAME).exists()


def test_admin_deletes_an_unused_image(admin_web: Client, image: OsImage) -> None:
    assert admin_web.post(f"/images/{NAME}/delete/")["Location"] == "/images/"
    assert not OsImage.objects.exists()
