"""Forms for login, users and the audit filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.db import connection, transaction
from django.utils import timezone

from snportal.models import AuditEvent
from snportal.roles import ROLES


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form, refusing a username or client address after repeated failures.

    The failures are counted from the audit trail itself, so the limit holds across every web
    process without a shared cache.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": (
            "Too many failed logins for this account or address. Wait %(minutes)d minutes "
            "and try again, or ask an admin."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        ip = getattr(self.request, "client_ip", None)
        # Check, authenticate and record the failure as one step per username and address:
        # otherwise parallel guesses all pass the check before any failure is recorded.
        # The transaction must commit even when the password is wrong (the failure row is
        # what the next guess counts), so the error is raised only after it.
        error: forms.ValidationError | None = None
        with transaction.atomic():
            lock_login_attempts(username, ip)
            if login_throttled(username, ip):
                error = forms.ValidationError(
                    self.error_messages["throttled"],
                    code="throttled",
                    params={"minutes": max(1, settings.LOGIN_FAILURE_WINDOW // 60)},
                )
            else:
                try:
                    super().clean()
                except forms.ValidationError as exc:
                    error = exc
        if error is not None:
            raise error
        return self.cleaned_data


def lock_login_attempts(username: str, ip: str | None) -> None:
    """Serialise login attempts for one username and one client address until commit.

    PostgreSQL advisory transaction locks need no table; taken in a fixed order, two
    attempts that share both keys cannot deadlock.
    """
    keys = sorted({f"snportal.login.user:{username}", f"snportal.login.ip:{ip or ''}"})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def login_throttled(username: str, ip: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    failures = AuditEvent.objects.filter(verb="login_failed", time__gte=since)
    limit = settings.LOGIN_FAILURE_LIMIT
    if username and failures.filter(object_name=username).count() >= limit:
        return True
    return bool(ip) and failures.filter(ip=ip).count() >= limit * 4


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]{1,150}$",
        help_text="Letters, digits and @ . + - _ only.",
        error_messages={"invalid": "Username may hold letters, digits and @ . + - _ only."},
    )
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES], initial="viewer")
    password = forms.CharField(
        widget=forms.PasswordInput,
        help_text="At least 8 characters, not all digits, not a common password.",
    )

    def clean_username(self) -> str:
        name = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(f"A user named {name!r} already exists: pick another name.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password"):
            user = get_user_model()(username=data.get("username", ""), email=data.get("email", ""))
            try:
                validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserEditForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])
    is_active = forms.BooleanField(required=False, label="Active (may log in)")
    email = forms.EmailField(required=False)


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, label="User")
    verb = forms.CharField(required=False, label="Action")
    object = forms.CharField(required=False, label="Object")
    since = forms.DateTimeField(
        required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="To", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def filter(self, qs: Any) -> Any:
        data = self.cleaned_data
        if data.get("user"):
            qs = qs.filter(username__icontains=data["user"])
        if data.get("verb"):
            qs = qs.filter(verb__icontains=data["verb"])
        if data.get("object"):
            qs = qs.filter(object_name__icontains=data["object"])
        if data.get("since"):
            qs = qs.filter(time__gte=data["since"])
        if data.get("until"):
            qs = qs.filter(time__lte=data["until"])
        return qs
