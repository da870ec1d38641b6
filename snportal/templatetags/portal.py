"""Small template filters used across apps."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.forms import BoundField

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Compact JSON for audit before/after cells (a dict's repr reads like Python, not data)."""
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# Bootstrap's class for each Django widget type; a widget type not named gets form-control.
_WIDGET_CLASS = {
    "select": "form-select",
    "selectmultiple": "form-select",
    "textarea": "form-control font-monospace",
}
_DJANGO_TEXTAREA_ROWS = "10"  # Textarea's own default (a string); ours is 8 rows
_TEXTAREA_ROWS = 8


@register.filter
def bootstrap(field: BoundField) -> str:
    """The field's own Django widget, with Bootstrap's classes added to its attributes.

    Rendering the widget (not a hand-written ``<input>``) keeps every attribute the form set:
    ``disabled``, ``required``, ``maxlength``, ``spellcheck``, choices and the bound value.
    Checkboxes are left as Django renders them (the template wraps them in ``form-check``).
    """
    if field.widget_type == "checkbox":
        return field.as_widget()
    widget = field.field.widget
    classes = [widget.attrs.get("class", ""), _WIDGET_CLASS.get(field.widget_type, "form-control")]
    if field.errors:
        classes.append("is-invalid")
    attrs: dict[str, Any] = {"class": " ".join(c for c in classes if c)}
    if field.widget_type == "textarea" and widget.attrs.get("rows") == _DJANGO_TEXTAREA_ROWS:
        attrs["rows"] = _TEXTAREA_ROWS
    return field.as_widget(attrs=attrs)
