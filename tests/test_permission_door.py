"""Every permission check of every view goes through one decorator (issue 12, item 3).

``snportal.actions.permission_required`` (and ``action``, its POST-only form) is the one
place a view is refused: the audit row, the 403 and the message are written once. This
walks every URL pattern and reads each of our views' own code: none may check a
permission itself.
"""

from __future__ import annotations

import inspect

from django.urls import URLPattern, URLResolver, get_resolver

OUR_APPS = ("snportal", "config", "nodes", "images", "consoles", "hierarchy")
INLINE_CHECKS = ("has_perm(", "PermissionDenied", "require_perm(", "_guard(")


def views() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []

    def walk(patterns: list, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.append((prefix + str(p.pattern), p.callback))

    walk(get_resolver().url_patterns, "")
    return found


def test_no_view_checks_a_permission_by_itself() -> None:
    offenders = []
    for route, callback in views():
        view = inspect.unwrap(callback)
        if getattr(view, "__module__", "").split(".")[0] not in OUR_APPS:
            continue
        source = inspect.getsource(view)
        if any(check in source for check in INLINE_CHECKS):
            offenders.append(f"{route}: {view.__module__}.{view.__qualname__}")
    assert not offenders, "check with @permission_required instead: " + ", ".join(offenders)


def test_the_decorated_views_are_found_by_their_mark() -> None:
    """The walk sees the decorator (so the test above looks at real views)."""
    marked = {r for r, cb in views() if getattr(cb, "permission_required", None)}
    assert {"users/", "nodes/new/", "consoles/wall/", "images/new/"} <= marked
