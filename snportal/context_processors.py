from __future__ import annotations

from typing import Any

from django.conf import settings

from snportal.roles import role_of


def portal(request: Any) -> dict[str, Any]:
    """Site name and the user's role for the layout."""
    user = getattr(request, "user", None)
    return {"portal_name": settings.SITE_NAME, "user_role": role_of(user) if user else ""}
