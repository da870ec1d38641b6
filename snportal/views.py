"""Portal-wide pages: jobs, audit trail, users (the dashboard is the project's: config/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from snportal import audit, jobs, roles, users
from snportal.actions import action, permission_required
from snportal.forms import AuditFilterForm, UserCreateForm, UserEditForm
from snportal.models import AuditEvent, Job

PAGE_SIZE = 50


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and the launcher: the database answers."""
    Job.objects.exists()
    return JsonResponse({"ok": True})


def job_list(request: HttpRequest) -> HttpResponse:
    qs = Job.objects.all()
    status = request.GET.get("status", "")
    if status in Job.Status.values:
        qs = qs.filter(status=status)
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(qs.defer("log", "results"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "snportal/job_list.html",
        {"page": page, "status": status, "kind": kind, "statuses": Job.Status.values},
    )


def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    return render(request, "snportal/job_detail.html", {"job": job})


@action("snportal.cancel_job", "job.cancel")
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    changed = jobs.cancel(job)
    audit.record(
        "job.cancel",
        request=request,
        obj=job,
        object_type="job",
        outcome="success" if changed else "failure",
        message="" if changed else "job had already finished",
    )
    if changed:
        messages.success(request, f"Cancel requested for job #{job.pk}.")
    else:
        messages.warning(request, f"Job #{job.pk} had already finished.")
    return redirect("snportal:job_detail", pk=job.pk)


@action("snportal.add_job", "workers.check")
def check_workers(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        job = jobs.submit(
            "check-workers",
            "snportal.tasks.check_workers",
            actor=audit.actor_from_request(request),
            label="workers",
        )
        audit.record("workers.check", request=request, obj=job, object_type="job")
    return redirect("snportal:job_detail", pk=job.pk)


def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    qs = AuditEvent.objects.all()
    if form.is_valid():
        qs = form.filter(qs)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "snportal/audit_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@permission_required("auth.change_user")
def user_list(request: HttpRequest) -> HttpResponse:
    people = get_user_model().objects.order_by("username").prefetch_related("groups")
    rows = [(u, roles.role_of(u)) for u in people]
    return render(request, "snportal/user_list.html", {"rows": rows, "form": UserCreateForm()})


@action("auth.add_user", "user.create")
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST)
    if not form.is_valid():
        people = get_user_model().objects.order_by("username").prefetch_related("groups")
        rows = [(u, roles.role_of(u)) for u in people]
        return render(request, "snportal/user_list.html", {"rows": rows, "form": form}, status=400)
    data = form.cleaned_data
    users.create_user(
        data["username"], data["password"], data["role"], email=data["email"], request=request
    )
    messages.success(request, f"User {data['username']} created with role {data['role']}.")
    return redirect("snportal:user_list")


@permission_required("auth.change_user", "user.update", object_type="user")
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(get_user_model(), pk=pk)
    if request.method == "POST":
        form = UserEditForm(request.POST)
        if form.is_valid():
            if person == request.user and form.cleaned_data["role"] != roles.ADMIN:
                form.add_error("role", "You cannot remove your own admin role; ask another admin.")
            else:
                users.update_user(person, request=request, **form.cleaned_data)
                messages.success(request, f"User {person.username} updated.")
                return redirect("snportal:user_list")
    else:
        form = UserEditForm(
            initial={
                "role": roles.role_of(person),
                "is_active": person.is_active,
                "email": person.email,
            }
        )
    return render(request, "snportal/user_edit.html", {"person": person, "form": form})
