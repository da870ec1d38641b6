"""OS image pages: list, detail, create/edit/copy/delete, list history, build actions.

Everyone reads; admins change definitions (``images.add/change/delete_osimage``);
operators build, pack and roll back (``images.build_osimage``). Every state change goes
through :mod:`images.services`, which the CLI verbs call too.
"""

from __future__ import annotations

import difflib

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from images import services
from images.forms import CopyForm, OsImageForm, PackForm
from images.models import DistroSource, OsImage, OsImageRevision
from snportal import audit
from snportal.actions import action, permission_required
from snportal.models import Job

HISTORY_LENGTH = 20
NODES_SHOWN = 50


def _image(name: str) -> OsImage:
    return get_object_or_404(
        OsImage.objects.select_related("source", "current_version", "build_job"), imagename=name
    )


def image_list(request: HttpRequest) -> HttpResponse:
    images = OsImage.objects.select_related("source", "current_version", "build_job")
    return render(
        request,
        "images/image_list.html",
        {"images": images, "sources": DistroSource.objects.all()},
    )


def image_detail(request: HttpRequest, name: str) -> HttpResponse:
    image = _image(name)
    nodes = image.nodes.order_by("sortkey")
    latest = {
        r["attr"]: r["number"]
        for r in OsImageRevision.objects.filter(image=image)
        .order_by("attr", "-number")
        .distinct("attr")
        .values("attr", "number")
    }
    attrs = services.attrs_of(image)
    context = {
        "image": image,
        "list_attrs": [(a, latest.get(a, 0), attrs[a]) for a in services.LIST_ATTRS],
        "versions": image.versions.all(),
        "builds": Job.objects.filter(target=image.imagename, kind__in=services.BUILD_KINDS)
        .defer("log")
        .order_by("-created")[:HISTORY_LENGTH],
        "node_names": list(nodes.values_list("name", flat=True)[:NODES_SHOWN]),
        "node_count": nodes.count(),
        "building": image.build_job
        if image.build_job and not image.build_job.is_finished
        else None,
        "pack_form": PackForm(
            initial={"method": image.packmethod, "compression": image.compression}
        ),
    }
    return render(request, "images/image_detail.html", context)


@permission_required("images.add_osimage", "image.create", object_type="osimage")
def image_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = OsImageForm(request.POST)
        if form.is_valid():
            return _save(request, None, form, "created")
    else:
        form = OsImageForm(initial=_initial(request))
    return _form_page(request, form, None)


def _initial(request: HttpRequest) -> dict[str, str]:
    """A new definition starts from the first (or the chosen) distro source's defaults."""
    sources = DistroSource.objects.all()
    source = sources.filter(name=request.GET.get("source", "")).first() or sources.first()
    return services.defaults_for(source, "custom") if source else {}


@permission_required("images.change_osimage", "image.change", object_type="osimage")
def image_edit(request: HttpRequest, name: str) -> HttpResponse:
    image = _image(name)
    if request.method == "POST":
        form = OsImageForm(request.POST, instance=image)
        if form.is_valid():
            return _save(request, image, form, "saved")
    else:
        form = OsImageForm(instance=image)
    return _form_page(request, form, image)


def _form_page(request: HttpRequest, form: OsImageForm, image: OsImage | None) -> HttpResponse:
    context = {"form": form, "image": image, "list_attrs": services.LIST_ATTRS}
    return render(request, "images/image_form.html", context, status=400 if form.errors else 200)


def _save(
    request: HttpRequest, image: OsImage | None, form: OsImageForm, done: str
) -> HttpResponse:
    try:
        saved = services.save(image, form.attrs(), actor=audit.actor_from_request(request))
    except services.DefinitionError as e:  # lost a race with another editor
        for attr, msgs in e.errors.items():
            for msg in msgs:
                form.add_error(attr if attr in form.fields else None, msg)
        return _form_page(request, form, image)
    messages.success(request, f"osimage {saved.imagename} {done}.")
    return redirect("images:detail", name=saved.imagename)


@permission_required("images.add_osimage", "image.copy", object_type="osimage")
def image_copy(request: HttpRequest, name: str) -> HttpResponse:
    image = _image(name)
    form = CopyForm(request.POST or None, initial={"imagename": f"{image.imagename}-custom"})
    if request.method == "POST" and form.is_valid():
        try:
            copy = services.copy(
                image, form.cleaned_data["imagename"], actor=audit.actor_from_request(request)
            )
        except services.DefinitionError as e:
            form.add_error("imagename", "; ".join(m for ms in e.errors.values() for m in ms))
        else:
            messages.success(request, f"Copied {image.imagename} to {copy.imagename}.")
            return redirect("images:edit", name=copy.imagename)
    return render(request, "images/image_copy.html", {"form": form, "image": image})


@action("images.delete_osimage", "image.delete")
def image_delete(request: HttpRequest, name: str) -> HttpResponse:
    image = _image(name)
    try:
        services.delete(image, actor=audit.actor_from_request(request))
    except services.ImageInUse as e:
        audit.record("image.delete", request=request, obj=image, outcome="failure", message=str(e))
        messages.error(request, f"Not deleted: {e}")
        return redirect("images:detail", name=name)
    messages.success(request, f"osimage {name} deleted.")
    return redirect("images:list")


def image_history(request: HttpRequest, name: str, attr: str) -> HttpResponse:
    """Revisions of one list or script, newest first, each with its diff to the previous."""
    if attr not in services.LIST_ATTRS:
        raise Http404(f"{attr} has no revisions")
    image = _image(name)
    revisions = list(image.revisions.filter(attr=attr).order_by("number"))
    rows = []
    previous = ""
    for revision in revisions:
        diff = difflib.unified_diff(
            previous.splitlines(),
            revision.content.splitlines(),
            f"r{revision.number - 1}" if revision.number > 1 else "(empty)",
            f"r{revision.number}",
            lineterm="",
        )
        rows.append((revision, list(diff)))
        previous = revision.content
    rows.reverse()
    return render(
        request, "images/image_history.html", {"image": image, "attr": attr, "rows": rows}
    )


def _start(request: HttpRequest, name: str, kind: str, **options: str) -> HttpResponse:
    image = _image(name)
    try:
        job = services.start_build(
            image, kind, actor=audit.actor_from_request(request), user=request.user, **options
        )
    except services.BuildError as e:
        audit.record(f"image.{kind}", request=request, obj=image, outcome="failure", message=str(e))
        messages.error(request, str(e))
        return redirect("images:detail", name=name)
    return redirect("snportal:job_detail", pk=job.pk)


@action("images.build_osimage", "image.genimage")
def image_genimage(request: HttpRequest, name: str) -> HttpResponse:
    return _start(request, name, "genimage")


@action("images.build_osimage", "image.packimage")
def image_packimage(request: HttpRequest, name: str) -> HttpResponse:
    form = PackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a pack method and a compression.")
        return redirect("images:detail", name=name)
    return _start(
        request,
        name,
        "packimage",
        method=form.cleaned_data["method"],
        compression=form.cleaned_data["compression"],
    )


@action("images.build_osimage", "image.rollback")
def image_rollback(request: HttpRequest, name: str) -> HttpResponse:
    image = _image(name)
    try:
        version = services.rollback(
            image, request.POST.get("version", ""), actor=audit.actor_from_request(request)
        )
    except services.BuildError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"{name}: version {version.version} is current again.")
    return redirect("images:detail", name=name)
