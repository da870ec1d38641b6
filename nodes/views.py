"""Node pages: list, detail, create/edit, groups, bulk edit, CSV import, power actions.

Reading is open to every role; definitions need the admin's ``nodes.*_node`` permissions
and power the operator's ``nodes.power_node``. State-changing requests go through the
same :mod:`nodes.services` functions as the CLI verbs.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from images.models import OsImage
from nodes import netboot as netboot_service
from nodes import noderange, services
from nodes.forms import (
    SORTS,
    BulkEditForm,
    CsvImportForm,
    GroupForm,
    NodeFilterForm,
    NodeForm,
    PowerForm,
    SetbootForm,
)
from nodes.models import Group, Node, NodeEvent, UnknownMac
from snportal import audit
from snportal.actions import action, permission_required
from snportal.defs import DefError
from snportal.lib import secrets
from snportal.next_url import safe_next

PAGE_SIZE = 100
# Buttons on the list and detail pages: (command, verb, label).
POWER_BUTTONS = [
    ("rpower", "on", "Power on"),
    ("rpower", "off", "Power off"),
    ("rpower", "reset", "Reset"),
    ("rpower", "boot", "Boot"),
    ("rpower", "stat", "Status"),
    ("rsetboot", "net", "Next boot: network"),
    ("rsetboot", "hd", "Next boot: disk"),
]


def _apply_problems(form: NodeForm, error: services.NodeDataError) -> None:
    """Put each problem on the field it names (or on the form)."""
    for p in error.problems:
        field = p.attr if p.attr in form.fields else None
        form.add_error(field, p.message if field else str(p))


# --- nodes ------------------------------------------------------------------------------


def node_list(request: HttpRequest) -> HttpResponse:
    """Every node, filtered and sorted in the database, one page at a time."""
    form = NodeFilterForm(request.GET or None)
    qs = Node.objects.select_related("osimage")
    sort = "name"
    refused = False  # a noderange refused: the page says why, with status 400
    if form.is_valid():
        data = form.cleaned_data
        if data["noderange"]:
            names, why = services.resolve_typed(data["noderange"])
            qs = qs.filter(name__in=names)
            if why:
                form.add_error("noderange", why)
                refused = True
        if data["group"]:
            qs = qs.filter(nodegroup__group__name=data["group"])
        if data["status"]:
            qs = qs.filter(status="" if data["status"] == "-" else data["status"])
        if data["power"]:
            qs = qs.filter(power="" if data["power"] == "-" else data["power"])
        sort = data["sort"] or "name"
    qs = services.with_groups(qs.order_by(SORTS[sort], "sortkey"))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sortless = query.copy()
    sortless.pop("sort", None)
    return render(
        request,
        "nodes/node_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "sortless": sortless.urlencode(),
            "sort": sort,
            "buttons": POWER_BUTTONS,
        },
        status=400 if refused else 200,
    )


def node_detail(request: HttpRequest, name: str) -> HttpResponse:
    node = get_object_or_404(
        services.with_groups(Node.objects.select_related("osimage", "boot_version")), name=name
    )
    attrs = services.node_attrs(node)
    events = list(NodeEvent.objects.filter(node=node).select_related("user")[:100])
    # Seconds since the previous (older) event: where a boot spends its time.
    for newer, older in zip(events, events[1:], strict=False):
        newer.after = (newer.time - older.time).total_seconds()
    return render(
        request,
        "nodes/node_detail.html",
        {"node": node, "attrs": attrs, "events": events, "buttons": POWER_BUTTONS},
    )


def _save(request: HttpRequest, form: NodeForm, name: str, mode: str) -> bool:
    """Save a valid node form through the CLI's service; problems land on their fields."""
    if not form.is_valid():
        return False
    try:
        services.save_nodes(
            [(name, form.attrs())], mode=mode, actor=audit.actor_from_request(request)
        )
    except services.NodeDataError as e:
        _apply_problems(form, e)
        return False
    messages.success(request, f"Node {name} saved.")
    return True


@permission_required("nodes.add_node", "node.create")
def node_create(request: HttpRequest) -> HttpResponse:
    form = NodeForm(request.POST or None)
    name = request.POST.get("name", "").strip()
    if request.method == "POST" and _save(request, form, name, services.CREATE):
        return redirect("nodes:detail", name=name)
    return render(request, "nodes/node_form.html", {"form": form, "node": None})


@permission_required("nodes.change_node", "node.update")
def node_edit(request: HttpRequest, name: str) -> HttpResponse:
    node = get_object_or_404(
        services.with_groups(Node.objects.select_related("osimage")), name=name
    )
    if request.method == "POST":
        form = NodeForm(request.POST, editing=True)
        if _save(request, form, name, services.UPDATE):
            return redirect("nodes:detail", name=name)
    else:
        initial = services.node_attrs(node)
        del initial["bmcpassword"]  # never sent back to the browser, not even masked
        form = NodeForm(initial=initial, editing=True)
    return render(request, "nodes/node_form.html", {"form": form, "node": node})


@action("nodes.delete_node", "node.delete")
def node_delete(request: HttpRequest, name: str) -> HttpResponse:
    get_object_or_404(Node, name=name)
    services.delete_nodes([name], actor=audit.actor_from_request(request))
    messages.success(request, f"Node {name} deleted.")
    return redirect("nodes:list")


@permission_required("nodes.change_node", "node.update", name_field="noderange")
def bulk_edit(request: HttpRequest) -> HttpResponse:
    """The browser's chdef: attributes set over a noderange, all nodes or none."""
    if request.method == "POST":
        form = BulkEditForm(request.POST)
        if form.is_valid():
            try:
                names = services.resolve(form.cleaned_data["noderange"])
                report = services.save_nodes(
                    [(n, form.cleaned_data["changes"]) for n in names],
                    mode=services.UPDATE,
                    actor=audit.actor_from_request(request),
                )
            except noderange.NoderangeError as e:
                form.add_error("noderange", str(e))
            except services.NodeDataError as e:
                for p in e.problems[:50]:
                    form.add_error("changes", str(p))
            else:
                messages.success(
                    request,
                    f"{len(report.changed)} node(s) changed: {noderange.compress(report.changed)}",
                )
                return redirect(f"{reverse('nodes:list')}?noderange={form.data['noderange']}")
    else:
        picked = request.GET.getlist("node")
        form = BulkEditForm(
            initial={"noderange": noderange.compress(picked) or request.GET.get("noderange", "")}
        )
    return render(request, "nodes/bulk_edit.html", {"form": form})


@permission_required("nodes.add_node", "node.import")
def csv_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (per-row errors) → confirm; the confirm writes every row or none.

    Between preview and confirm the CSV travels in the page encrypted, so BMC passwords in
    it are never in a form value in clear, nor stored server-side.
    """
    actor = audit.actor_from_request(request)
    plan = None
    payload = ""
    form = CsvImportForm()
    if request.method == "POST":
        if request.POST.get("payload"):
            try:
                text = secrets.decrypt(request.POST["payload"], settings.SECRETS_KEYS)
            except secrets.DecryptionError:
                messages.error(request, "The preview expired or was altered; upload again.")
                return redirect("nodes:import")
            plan = services.plan_csv(text, actor=actor, apply=True)
            if plan.ok:
                report = plan.report
                messages.success(
                    request,
                    f"Imported: {len(report.created)} created, {len(report.changed)} updated.",
                )
                return redirect("nodes:list")
        else:
            form = CsvImportForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    text = form.csv_text()
                except ValidationError as e:
                    form.add_error("file", e)
                else:
                    plan = services.plan_csv(text, actor=actor)
                    if plan.ok:
                        payload = secrets.encrypt(text, settings.SECRETS_KEYS)
    # A refused upload (too large, too many rows, not CSV) is bad input: 400 with the form.
    return render(
        request,
        "nodes/csv_import.html",
        {"form": form, "plan": plan, "payload": payload},
        status=400 if form.errors else 200,
    )


def _selected(request: HttpRequest, form: PowerForm) -> list[str]:
    """Ticked names (must exist) or a noderange; NoderangeError/DefError when neither works."""
    picked = request.POST.getlist("node")
    if picked:
        known = set(Node.objects.filter(name__in=picked).values_list("name", flat=True))
        unknown = [n for n in picked if n not in known]
        if unknown:
            raise noderange.UnknownNodesError(unknown)
        return sorted(known, key=noderange.natural_key)
    if form.cleaned_data.get("noderange"):
        return services.resolve(form.cleaned_data["noderange"])
    raise DefError("select at least one node")


def _power_action(request: HttpRequest, command: str, form: PowerForm) -> HttpResponse:
    back = safe_next(request, request.POST.get("next"), reverse("nodes:list"))
    if not form.is_valid():
        messages.error(request, f"{command}: choose a valid action.")
        return redirect(back)
    try:
        names = _selected(request, form)
        job = services.request_power(
            command,
            names,
            form.cleaned_data["action"],
            user=request.user,
            actor=audit.actor_from_request(request),
        )
    except (noderange.NoderangeError, DefError) as e:
        messages.error(request, f"{command}: {e}")
        return redirect(back)
    messages.info(
        request, f"{command} {form.cleaned_data['action']} queued for {len(names)} node(s)."
    )
    return redirect("snportal:job_detail", pk=job.pk)


@action("nodes.power_node", "node.rpower")
def power(request: HttpRequest) -> HttpResponse:
    return _power_action(request, "rpower", PowerForm(request.POST))


@action("nodes.power_node", "node.rsetboot")
def setboot(request: HttpRequest) -> HttpResponse:
    return _power_action(request, "rsetboot", SetbootForm(request.POST))


# --- groups -----------------------------------------------------------------------------


def group_list(request: HttpRequest) -> HttpResponse:
    members = services.group_map()
    groups = [(g, len(members.get(g.name, []))) for g in Group.objects.all()]
    return render(request, "nodes/group_list.html", {"groups": groups, "form": GroupForm()})


@action("nodes.add_group", "group.create")
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["name"]
        try:
            if Group.objects.filter(name=name).exists():
                raise services.NodeDataError([services.Problem(name, "name", "already exists")])
            services.save_groups(
                [(name, {"description": form.cleaned_data["description"]})],
                mode=services.CREATE,
                actor=audit.actor_from_request(request),
            )
        except services.NodeDataError as e:
            for p in e.problems:
                form.add_error("name" if p.attr == "name" else None, p.message)
        else:
            messages.success(request, f"Group {name} created.")
            return redirect("nodes:group_detail", name=name)
    members = services.group_map()
    groups = [(g, len(members.get(g.name, []))) for g in Group.objects.all()]
    return render(request, "nodes/group_list.html", {"groups": groups, "form": form}, status=400)


@permission_required("nodes.change_group", "group.update", methods=("POST",))
def group_detail(request: HttpRequest, name: str) -> HttpResponse:
    group = get_object_or_404(Group, name=name)
    if request.method == "POST":
        form = GroupForm(request.POST, editing=True)
        if form.is_valid():
            services.save_groups(
                [(name, {"description": form.cleaned_data["description"]})],
                mode=services.UPDATE,
                actor=audit.actor_from_request(request),
            )
            messages.success(request, f"Group {name} saved.")
            return redirect("nodes:group_detail", name=name)
    else:
        form = GroupForm(initial={"description": group.description}, editing=True)
    members = sorted(services.group_map().get(name, []), key=noderange.natural_key)
    return render(
        request,
        "nodes/group_detail.html",
        {
            "group": group,
            "members": members,
            "compressed": noderange.compress(members),
            "form": form,
        },
    )


@action("nodes.delete_group", "group.delete")
def group_delete(request: HttpRequest, name: str) -> HttpResponse:
    get_object_or_404(Group, name=name)
    services.delete_groups([name], actor=audit.actor_from_request(request))
    messages.success(request, f"Group {name} deleted; its nodes remain.")
    return redirect("nodes:group_list")


# --- netboot (rinstall from the browser) ------------------------------------------------


@action("nodes.netboot_node", "node.rinstall")
def netboot(request: HttpRequest) -> HttpResponse:
    """Select nodes → pick a packed image and confirm (same POST with ``confirm``) → job."""
    back = safe_next(request, request.POST.get("next"), reverse("nodes:list"))
    form = PowerForm(request.POST, verbs=("netboot",))
    form.is_valid()
    try:
        names = _selected(request, form)
    except (noderange.NoderangeError, DefError) as e:
        messages.error(request, f"netboot: {e}")
        return redirect(back)
    images = OsImage.objects.filter(current_version__isnull=False).order_by("imagename")
    chosen = request.POST.get("osimage", "")
    if request.POST.get("confirm") and chosen:
        try:
            job = netboot_service.start_rinstall(
                names,
                f"osimage={chosen}",
                actor=audit.actor_from_request(request),
                user=request.user,
            )
        except DefError as e:
            messages.error(request, f"netboot: {e}")
        else:
            messages.info(request, f"Netboot of {len(names)} node(s) with {chosen} queued.")
            return redirect("snportal:job_detail", pk=job.pk)
    no_mac = list(Node.objects.filter(name__in=names, mac="").values_list("name", flat=True)[:50])
    return render(
        request,
        "nodes/netboot_confirm.html",
        {"names": names, "images": images, "chosen": chosen, "no_mac": no_mac, "next": back},
    )


def unknown_macs(request: HttpRequest) -> HttpResponse:
    """MACs that asked for a boot script but belong to no node (register them with mkdef)."""
    macs = UnknownMac.objects.all()[:500]
    return render(request, "nodes/unknown_macs.html", {"macs": macs})


PROGRESS_LIMIT = 500


def boot_progress(request: HttpRequest) -> HttpResponse:
    """One row per node with its boot phases; for a job (``?job=``) or a noderange."""
    from datetime import timedelta

    from django.utils import timezone

    from nodes import progress
    from snportal.models import Job

    job = None
    names: list[str] = []
    error = ""
    expr = request.GET.get("range", "").strip()
    status = 200
    if request.GET.get("job", "").isdigit():
        job = get_object_or_404(Job, pk=int(request.GET["job"]))
        names = list(job.params.get("nodes", []))
        since = job.created - timedelta(seconds=5)
    else:
        since = timezone.now() - timedelta(hours=2)
        if expr:
            names, error = services.resolve_typed(expr)
            status = 400 if error else 200
    if len(names) > PROGRESS_LIMIT:
        error = f"{len(names)} nodes: showing the first {PROGRESS_LIMIT}; narrow the range"
        names = names[:PROGRESS_LIMIT]
    rows = progress.progress(names, since)
    for row in rows:
        if (row.slow or row.stuck or row.status == Node.Status.FAILED) and row.last_time:
            row.console = progress.console_excerpt(settings.CONSOLES_DIR, row.name, row.last_time)
    context = {
        "rows": rows,
        "phases": [label for _, label in progress.PHASES],
        "job": job,
        "range": expr,
        "error": error,
        "booted": sum(1 for r in rows if r.status == Node.Status.BOOTED),
        "failed": sum(1 for r in rows if r.status == Node.Status.FAILED),
    }
    return render(request, "nodes/boot_progress.html", context, status=status)
