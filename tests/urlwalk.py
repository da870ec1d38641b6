"""Every URL the portal answers, filled in with real objects, for tests that walk them all.

The list is read from ``django.urls.get_resolver()`` at collection time, so a new view
(in any app, the boot service or the Django admin) is walked without anyone editing a test.
Each parameter gets the names of objects that :func:`populate` creates, plus values that
must be handled as bad input (a number beyond bigint, a name that does not exist).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

#: Larger than PostgreSQL's bigint (9223372036854775807) and than any Python-side check.
BIG = "99999999999999999999999"
NODE, GROUP, IMAGE, VERSION = "node01", "rack1", "busybox-x86_64-netboot-compute", "0123456789ab"
MAX_URLS_PER_ROUTE = 12
_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full route text (for test ids), name and parameters."""

    parts: tuple[Any, ...]
    name: str | None
    params: dict[str, str] = field(default_factory=dict)  # name -> converter ("int", "str", …)

    @property
    def text(self) -> str:
        return "".join(str(p) for p in self.parts) or "(root)"

    @property
    def int_params(self) -> list[str]:
        return [n for n, conv in self.params.items() if conv == "int"]


def routes() -> list[Route]:
    """Every endpoint pattern, depth first, skipping none."""
    return list(_walk(get_resolver().url_patterns, (), ()))


def _walk(patterns: list, parts: tuple, namespaces: tuple) -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = (*namespaces, p.namespace) if p.namespace else namespaces
            yield from _walk(p.url_patterns, (*parts, p.pattern), ns)
        elif isinstance(p, URLPattern):
            full = (*parts, p.pattern)
            name = ":".join((*namespaces, p.name)) if p.name else None
            yield Route(full, name, _params(full))


def _params(parts: tuple) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in parts:
        if isinstance(part, RoutePattern):
            for m in _ROUTE_PARAM.finditer(str(part)):
                params[m["name"]] = m["conv"] or "str"
        elif isinstance(part, RegexPattern):
            params.update({g: "regex" for g in part.regex.groupindex})
    return params


def candidates(objects: dict[str, Any]) -> dict[str, list[str]]:
    """Values to try per parameter name; ``objects`` comes from :func:`populate`."""
    return {
        "pk": [str(objects["job"].pk), str(objects["user"].pk), BIG],
        "name": [NODE, GROUP, IMAGE, "no-such-thing"],
        "image": [IMAGE],
        "version": [VERSION],
        "filename": ["kernel"],
        "attr": ["postinstall"],
        "app_label": ["nodes", "auth"],
        "object_id": [str(objects["group"].pk), BIG],
        "content_type_id": ["1", BIG],
    }


def urls_for(route: Route, objects: dict[str, Any]) -> list[str]:
    """Concrete URLs for ``route`` (at most MAX_URLS_PER_ROUTE); [] for a catch-all."""
    if "url" in route.params:  # the admin's catch-all: any path, covered by the others
        return []
    values = candidates(objects)
    names = list(route.params)
    choices = [values.get(n, [BIG, "1"] if route.params[n] == "int" else ["x", BIG]) for n in names]
    urls: list[str] = []
    for combo in itertools.islice(itertools.product(*choices), MAX_URLS_PER_ROUTE):
        kwargs = dict(zip(names, combo, strict=True))
        url = _build(route, kwargs)
        if url and url not in urls:
            urls.append(url)
    return urls


def _build(route: Route, kwargs: dict[str, str]) -> str | None:
    if all(isinstance(p, RoutePattern) for p in route.parts):
        text = "".join(str(p) for p in route.parts)
        text = _ROUTE_PARAM.sub(lambda m: quote(kwargs[m["name"]], safe="/"), text)
        return "/" + text
    if route.name:
        try:
            return reverse(route.name, kwargs=kwargs)
        except NoReverseMatch:
            return None
    return None


def populate() -> dict[str, Any]:
    """One of everything a page can show: node, group, image with a version, job, users."""
    from django.contrib.auth import get_user_model

    from images.tests.factories import make_image, make_version
    from nodes.models import Group
    from nodes.tests.factories import make_node
    from snportal import roles
    from snportal.models import Job
    from testsupport.personas import make_user

    image = make_image(IMAGE)
    make_version(image, VERSION)
    make_node(NODE, groups=f"{GROUP},compute", mac="52:54:00:00:00:01")
    user = get_user_model().objects.filter(username="pat-person").first() or make_user(
        "pat-person", roles.VIEWER
    )
    return {
        "image": image,
        "group": Group.objects.get(name=GROUP),
        "job": Job.objects.create(kind="check-workers", func="snportal.jobs.check_workers"),
        "user": user,
    }
