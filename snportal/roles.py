"""Roles are Django groups with verb permissions: viewer ⊂ operator ⊂ admin.

One table says which permission each role gets, so that a data migration and every later
``migrate`` (new models bring new permissions) converge on the same grants.
"""

from __future__ import annotations

from typing import Any

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)

# Verbs beyond "view": what an operator may do on top of a viewer.
OPERATOR_VERBS = {
    "nodes.power_node",
    "nodes.netboot_node",
    "images.build_osimage",
    "consoles.write_console",
    "snportal.cancel_job",
    "hierarchy.move_servicenode",
}
VIEWER_EXTRA = {"consoles.view_console"}
# Apps whose permissions make up the portal (Django's own plumbing stays superuser-only).
PORTAL_APPS = {"snportal", "images", "nodes", "consoles", "lab", "auth", "hierarchy"}
# Nobody edits the audit trail (the database refuses it anyway).
NEVER_GRANTED = {
    "snportal.add_auditevent",
    "snportal.change_auditevent",
    "snportal.delete_auditevent",
}


def role_permissions(role: str, all_perms: list[tuple[str, str]]) -> set[str]:
    """The "app.codename" set a role holds, given every known (app, codename)."""
    dotted = {f"{app}.{code}" for app, code in all_perms if app in PORTAL_APPS} - NEVER_GRANTED
    viewer = {p for p in dotted if p.split(".", 1)[1].startswith("view_")} | (VIEWER_EXTRA & dotted)
    if role == VIEWER:
        return viewer
    operator = viewer | (OPERATOR_VERBS & dotted)
    if role == OPERATOR:
        return operator
    if role == ADMIN:
        return dotted
    raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def sync(apps: Any) -> None:
    """Create the three groups and set exactly their permissions (idempotent)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Migration-state app configs have no models_module and create_permissions skips
        # those; pretend for the call, then restore (never clobber the real registry's).
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = list(Permission.objects.select_related("content_type"))
    keyed = {f"{p.content_type.app_label}.{p.codename}": p for p in perms}
    known = [(p.content_type.app_label, p.codename) for p in perms]
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([keyed[name] for name in role_permissions(role, known)])


def sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate hook: later migrations add models, and so permissions, to grant."""
    from django.apps import apps as global_apps

    sync(kwargs.get("apps") or global_apps)


def role_of(user: Any) -> str:
    """The highest role a user holds ("" for none); superusers count as admin."""
    if not user.is_authenticated:
        return ""
    if user.is_superuser:
        return ADMIN
    names = {g.name for g in user.groups.all()}
    for role in (ADMIN, OPERATOR, VIEWER):
        if role in names:
            return role
    return ""


def set_role(user: Any, role: str) -> None:
    """Give a user exactly one role."""
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get(name=role))
