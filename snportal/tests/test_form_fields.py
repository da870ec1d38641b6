"""templates/snportal/_form_fields.html renders each field's own Django widget, so what the
form sets on a widget (disabled, maxlength, rows, choices) reaches the page."""

from __future__ import annotations

from django import forms
from django.template.loader import render_to_string


class _Sample(forms.Form):
    name = forms.CharField(max_length=20, disabled=True)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}))
    script = forms.CharField(widget=forms.Textarea)
    method = forms.ChoiceField(choices=[("cpio", "cpio"), ("squashfs", "squashfs")])
    secret = forms.CharField(widget=forms.PasswordInput)
    enabled = forms.BooleanField(required=False)


def render(form: forms.Form) -> str:
    return render_to_string("snportal/_form_fields.html", {"form": form})


def test_a_disabled_field_renders_disabled() -> None:
    html = render(_Sample(initial={"name": "n1"}))
    assert (
        '<input type="text" name="name" value="n1" maxlength="20" class="form-control" '
        'required disabled id="id_name">' in html
    )


def test_a_textarea_keeps_its_attributes_and_gets_bootstrap_classes() -> None:
    html = render(_Sample())
    assert 'name="notes" cols="40" rows="3" spellcheck="false"' in html
    assert 'class="form-control font-monospace"' in html


def test_a_textarea_without_rows_gets_eight() -> None:
    assert 'name="script" cols="40" rows="8"' in render(_Sample())


def test_a_select_shows_the_bound_choice_selected() -> None:
    html = render(_Sample(data={"method": "squashfs"}))
    assert '<select name="method" class="form-select" id="id_method">' in html
    assert '<option value="squashfs" selected>squashfs</option>' in html


def test_a_field_with_an_error_is_marked_invalid() -> None:
    form = _Sample(data={"method": "zip"})
    assert not form.is_valid()
    html = render(form)
    assert 'class="form-select is-invalid"' in html and 'aria-invalid="true"' in html


def test_a_password_is_never_echoed_back() -> None:
    html = render(_Sample(data={"secret": "hunter2"}))
    assert "hunter2" not in html and 'type="password"' in html


def test_a_checkbox_is_rendered_by_django_inside_form_check() -> None:
    html = render(_Sample())
    assert '<div class="form-check"><input type="checkbox" name="enabled" id="id_enabled">' in html
