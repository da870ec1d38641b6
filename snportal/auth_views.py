"""Login with throttling, on Django's own views."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from snportal.forms import ThrottledLoginForm


class LoginView(auth_views.LoginView):
    form_class = ThrottledLoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True
